/*
 * db_cursor.c — ddtrace._ctrace.DbCursorMethod: a traced DB-API cursor's
 * query method in C. See db_cursor.h for what a call does and why.
 */
#include "db_cursor.h"

#include "integration_span.h"

/* integration configs one method serves (dbapi2, sqlite, psycopg, pymysql,
 * mysqldb...); a further one takes the Python path */
#define DB_CONFIGS 8
/* arguments passed on without the Python path: the cursor, the query,
 * parameters and keywords */
#define DB_MAX_ARGS 16

typedef struct DbCursorMethod {
    ct_ext_method method; /* first: the Python method replaced (wrapped) */
    PyTracer *tracer;
    PyObject *resolve;        /* callable(int_config) -> (service, mapped, tags) */
    PyObject *failed;         /* callable(integration name, exc_info) */
    PyObject *name;           /* the cursor's method called: "execute"... */
    PyObject *tags;           /* CursorTracing's attribute of the span's tags */
    PyObject *plain_resource; /* set of the resource_of hooks that keep a str as it is */
    int returns_proxy;
    int keywords; /* does the Python method take **kwargs? (callproc does not) */
    int configs;  /* the integrations in use */
    ct_ext_integration integrations[DB_CONFIGS];
    vectorcallfunc vectorcall;
} DbCursorMethod;

/* interned names, set once */
static PyObject *str_self_tracing, *str_wrapped, *str_config, *str_name, *str_dbm, *str_resource_of;
static PyObject *str_last_query, *str_rowcount, *str_row_count, *str_sql, *str_integration_name;
static PyObject *str_dbapi;

/* -- the cursor's tracing state ------------------------------------------------------ */

/* What a query reads from the proxy: new references, all NULL after a
 * failure. */
typedef struct query_state {
    PyObject *cursor, *tracing, *config, *name, *tags, *resource;
} query_state;

static void state_clear(query_state *state)
{
    Py_CLEAR(state->cursor);
    Py_CLEAR(state->tracing);
    Py_CLEAR(state->config);
    Py_CLEAR(state->name);
    Py_CLEAR(state->tags);
    Py_CLEAR(state->resource);
}

/* Is the Python path the one to take (DBM comments, no state)? 1 yes, 0
 * no, -1 with an exception. */
static int needs_python(PyObject *tracing)
{
    PyObject *dbm = PyObject_GetAttr(tracing, str_dbm);
    if (!dbm) return -1;
    int rare = dbm != Py_None;
    Py_DECREF(dbm);
    return rare;
}

/* The query's resource (new reference), NULL with an exception. */
static PyObject *resource_of(DbCursorMethod *self, query_state *state, PyObject *query)
{
    PyObject *hook = PyObject_GetAttr(state->tracing, str_resource_of);
    if (!hook) return NULL;
    int plain = hook == Py_None;
    if (!plain && PyUnicode_CheckExact(query)) {
        plain = PySet_Contains(self->plain_resource, hook);
        if (plain < 0) PyErr_Clear(); /* (an unhashable hook: called) */
    }
    PyObject *resource;
    if (plain > 0) resource = Py_NewRef(query);
    else resource = PyObject_CallFunctionObjArgs(hook, state->cursor, query, NULL);
    Py_DECREF(hook);
    return resource;
}

/* Reads the state of a query, sets tracing.last_query. 1 done, 0 when
 * the Python path must take the call, -1 with an exception. */
static int read_state(DbCursorMethod *self, PyObject *proxy, PyObject *query, query_state *state)
{
    state->tracing = PyObject_GenericGetAttr(proxy, str_self_tracing);
    if (!state->tracing) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return -1;
        PyErr_Clear(); /* a proxy not set up by TracedCursor.__init__ */
        return 0;
    }
    int rare = needs_python(state->tracing);
    if (rare != 0) return rare < 0 ? -1 : 0;
    state->cursor = PyObject_GetAttr(proxy, str_wrapped);
    if (!state->cursor || PyObject_SetAttr(state->tracing, str_last_query, query) < 0) return -1;
    state->config = PyObject_GetAttr(state->tracing, str_config);
    state->name = state->config ? PyObject_GetAttr(state->tracing, str_name) : NULL;
    state->tags = state->name ? PyObject_GetAttr(state->tracing, self->tags) : NULL;
    if (!state->tags) return -1;
    if (!PyDict_Check(state->config) || !PyDict_Check(state->tags)) return 0;
    state->resource = resource_of(self, state, query);
    return state->resource ? 1 : -1;
}

/* The integration of a config (borrowed), made on first use; NULL with no
 * exception when there are too many, with one when it could not be made.
 * It is made aside and then put in its slot: making it runs Python code
 * (attribute lookups), during which another thread may add one. */
static ct_ext_integration *integration_of(DbCursorMethod *self, PyObject *config)
{
    for (int i = 0; i < self->configs; i++)
        if (self->integrations[i].int_config == config) return &self->integrations[i];
    if (self->configs == DB_CONFIGS) return NULL;
    ct_ext_integration made = {0};
    if (ct_ext_integration_init(&made, (PyObject *)self->tracer, config, self->resolve,
                                self->failed) < 0) {
        ct_ext_integration_clear(&made);
        return NULL;
    }
    for (int i = 0; i < self->configs; i++)
        if (self->integrations[i].int_config == config) { /* another thread's, meanwhile */
            ct_ext_integration_clear(&made);
            return &self->integrations[i];
        }
    if (self->configs == DB_CONFIGS) {
        ct_ext_integration_clear(&made);
        return NULL;
    }
    self->integrations[self->configs] = made;
    return &self->integrations[self->configs++];
}

/* -- the span ------------------------------------------------------------------------ */

/* The started, active span (new reference), or NULL: with no exception set
 * when the tracing failed and was reported (the query runs untraced), with
 * one that must propagate. */
static PySpan *start_span(ct_ext_integration *it, query_state *state)
{
    PyObject *parent = ct_ext_integration_ensure_service(it) < 0 ? NULL : ct_ext_active();
    PySpan *span = NULL;
    if (parent) {
        span = ct_ext_span_start(it->tracer, state->name, it->service.mapped, state->resource,
                                 str_sql, parent == Py_None ? NULL : parent, 1);
        Py_DECREF(parent);
    }
    if (!span) {
        ct_ext_report_failure(it->failed, it->integration);
        return NULL;
    }
    if ((ct_ext_set_tag_pairs(span, it->service.tags) < 0 ||
         ct_ext_set_dict_tags(span, state->tags) < 0) &&
        ct_ext_report_failure(it->failed, it->integration) < 0) {
        ct_ext_finish_keeping_error(span); /* not left active: it would adopt what follows */
        Py_CLEAR(span);
    }
    return span;
}

/* Tags db.row_count from cursor.rowcount when it is an int. 0, or -1 with
 * an exception that must propagate. */
static int tag_row_count(ct_ext_integration *it, PySpan *span, PyObject *cursor)
{
    PyObject *count = PyObject_GetAttr(cursor, str_rowcount);
    if (!count) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            return 0;
        }
        return ct_ext_report_failure(it->failed, it->integration);
    }
    int rc = PyLong_CheckExact(count) ? ct_ext_span_set_tag(span, str_row_count, count) : 0;
    Py_DECREF(count);
    return rc;
}

/* Finishes the span of a call that returned result (NULL: raised, the
 * exception set). Returns result, or NULL with an exception. Steals
 * result. */
static PyObject *finish_query(ct_ext_integration *it, PySpan *span, PyObject *cursor,
                              PyObject *result)
{
    if (!result) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (tag_row_count(it, span, cursor) < 0) PyErr_Clear();
        PyErr_Restore(type, value, tb);
        ct_ext_finish_with_error(span, NULL);
        return NULL;
    }
    if (tag_row_count(it, span, cursor) < 0) {
        Py_CLEAR(result);
        ct_ext_finish_keeping_error(span);
    } else if (ct_ext_span_finish(span, 0) < 0) {
        PyErr_Clear();
    }
    return result;
}

/* -- the call ------------------------------------------------------------------------ */

/* cursor.<name>(*args[1:], **kwargs): the same vector but the cursor in
 * the proxy's place. New reference, or NULL with the call's exception. */
static PyObject *call_cursor(DbCursorMethod *self, PyObject *cursor, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *stack[DB_MAX_ARGS];
    Py_ssize_t total = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    stack[0] = cursor;
    for (Py_ssize_t i = 1; i < total; i++) stack[i] = args[i];
    return PyObject_VectorcallMethod(self->name, stack, nargs, kwnames);
}

/* The driver's answer as the Python method gives it: the proxy itself
 * for sqlite3. Steals result. */
static PyObject *answer(DbCursorMethod *self, PyObject *proxy, PyObject *result)
{
    if (!result || !self->returns_proxy) return result;
    Py_DECREF(result);
    return Py_NewRef(proxy);
}

/* The name failures of the tracing are counted under: the config's
 * integration_name (an attribute, not a key), "dbapi2" before one is
 * read. New reference; keeps the exception that is set, never fails. */
static PyObject *failure_name(query_state *state)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *name = state->config ? PyObject_GetAttr(state->config, str_integration_name) : NULL;
    if (!name || !PyUnicode_Check(name)) {
        PyErr_Clear();
        Py_XSETREF(name, Py_NewRef(str_dbapi));
    }
    PyErr_Restore(type, value, tb);
    return name;
}

/* The tracing failed before the span, with the exception set: reported
 * under the integration's name, the query runs untraced. 1 with *result
 * set, 0 when the Python path must take it (no cursor read yet). */
static int untraced_query(DbCursorMethod *self, query_state *state, PyObject *const *args,
                          Py_ssize_t nargs, PyObject *kwnames, PyObject **result)
{
    PyObject *integration = failure_name(state);
    int reported = ct_ext_report_failure(self->failed, integration);
    Py_DECREF(integration);
    if (reported < 0) {
        *result = NULL; /* (a KeyboardInterrupt) */
        return 1;
    }
    if (!state->cursor) return 0;
    *result = call_cursor(self, state->cursor, args, nargs, kwnames);
    return 1;
}

/* A traced query: 1 with *result set (NULL: an exception), 0 when the
 * Python path must take it. */
static int traced_query(DbCursorMethod *self, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames, PyObject **result)
{
    query_state state = {0};
    int ready = read_state(self, args[0], args[1], &state);
    ct_ext_integration *it = ready > 0 ? integration_of(self, state.config) : NULL;
    if (!it) {
        ready = PyErr_Occurred() ? untraced_query(self, &state, args, nargs, kwnames, result) : 0;
        state_clear(&state);
        return ready;
    }
    PySpan *span = start_span(it, &state);
    if (!span && PyErr_Occurred()) {
        *result = NULL;
    } else {
        *result = call_cursor(self, state.cursor, args, nargs, kwnames);
        if (span) *result = finish_query(it, span, state.cursor, *result);
    }
    Py_XDECREF(span);
    state_clear(&state);
    return 1;
}

/* Called as the method it replaces: args[0] the proxy, then the query and
 * the driver's arguments. */
static PyObject *DbCursorMethod_vectorcall(DbCursorMethod *self, PyObject *const *args,
                                           size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *result;
    if (nargs >= 2 && total <= DB_MAX_ARGS && (!kwnames || self->keywords) &&
        self->tracer->tracer && ct__tracer_enabled(self->tracer->tracer) &&
        traced_query(self, args, nargs, kwnames, &result))
        return answer(self, args[0], result);
    if (PyErr_Occurred()) return NULL;
    return PyObject_Vectorcall(self->method.wrapped, args, nargsf, kwnames);
}

/* -- the type ------------------------------------------------------------------------ */

/* Does the Python method take keywords? A call with some the method
 * refuses goes to it, for its TypeError. 1 for a callable that is not a
 * Python function. Never raises. */
static int takes_keywords(PyObject *wrapped)
{
    if (!PyFunction_Check(wrapped)) return 1;
    PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(wrapped);
    return (code->co_flags & CO_VARKEYWORDS) != 0;
}

static PyObject *DbCursorMethod_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"tracer",        "resolve", "failed",
                            "method",        "tags",    "plain_resource_of",
                            "returns_proxy", "wrapped", NULL};
    PyObject *tracer, *resolve, *failed, *name, *tags, *plain_resource, *wrapped;
    int returns_proxy;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOUUO!pO", names, &PyTracer_Type, &tracer,
                                     &resolve, &failed, &name, &tags, &PySet_Type, &plain_resource,
                                     &returns_proxy, &wrapped))
        return NULL;
    if (!PyCallable_Check(resolve) || !PyCallable_Check(failed) || !PyCallable_Check(wrapped)) {
        PyErr_SetString(PyExc_TypeError,
                        "DbCursorMethod: resolve, failed and wrapped must be callable");
        return NULL;
    }
    DbCursorMethod *self = (DbCursorMethod *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->vectorcall = (vectorcallfunc)DbCursorMethod_vectorcall;
    self->method.wrapped = Py_NewRef(wrapped);
    self->tracer = (PyTracer *)Py_NewRef(tracer);
    self->resolve = Py_NewRef(resolve);
    self->failed = Py_NewRef(failed);
    self->name = Py_NewRef(name);
    PyUnicode_InternInPlace(&self->name);
    self->tags = Py_NewRef(tags);
    PyUnicode_InternInPlace(&self->tags);
    self->plain_resource = Py_NewRef(plain_resource);
    self->returns_proxy = returns_proxy;
    self->keywords = takes_keywords(wrapped);
    return (PyObject *)self;
}

#define DB_CURSOR_METHOD_FIELDS(X) \
    X(method.wrapped) X(tracer) X(resolve) X(failed) X(name) X(tags) X(plain_resource)

static int DbCursorMethod_traverse(DbCursorMethod *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    DB_CURSOR_METHOD_FIELDS(VISIT)
#undef VISIT
    for (int i = 0; i < self->configs; i++) {
        int rc = ct_ext_integration_traverse(&self->integrations[i], visit, arg);
        if (rc) return rc;
    }
    return 0;
}

static int DbCursorMethod_clear(DbCursorMethod *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    DB_CURSOR_METHOD_FIELDS(CLEAR)
#undef CLEAR
    for (int i = 0; i < self->configs; i++) ct_ext_integration_clear(&self->integrations[i]);
    self->configs = 0;
    return 0;
}

static void DbCursorMethod_dealloc(DbCursorMethod *self)
{
    PyObject_GC_UnTrack(self);
    DbCursorMethod_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject DbCursorMethod_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.DbCursorMethod",
    .tp_basicsize = sizeof(DbCursorMethod),
    .tp_dealloc = (destructor)DbCursorMethod_dealloc,
    CT_EXT_METHOD_TYPE_SLOTS(DbCursorMethod),
    .tp_traverse = (traverseproc)DbCursorMethod_traverse,
    .tp_clear = (inquiry)DbCursorMethod_clear,
    .tp_new = DbCursorMethod_new,
};

static PyObject *intern(const char *text) { return PyUnicode_InternFromString(text); }

int ct_ext_db_cursor_init(PyObject *module)
{
    str_self_tracing = intern("_self_tracing");
    str_wrapped = intern("__wrapped__");
    str_config = intern("config");
    str_name = intern("name");
    str_dbm = intern("dbm_injector");
    str_resource_of = intern("resource_of");
    str_last_query = intern("last_query");
    str_rowcount = intern("rowcount");
    str_row_count = intern("db.row_count");
    str_sql = intern("sql");
    str_integration_name = intern("integration_name");
    str_dbapi = intern("dbapi2");
    if (!str_self_tracing || !str_wrapped || !str_config || !str_name || !str_dbm ||
        !str_resource_of || !str_last_query || !str_rowcount || !str_row_count || !str_sql ||
        !str_integration_name || !str_dbapi || ct_ext_integration_span_init() < 0 ||
        PyType_Ready(&DbCursorMethod_Type) < 0)
        return -1;
    Py_INCREF(&DbCursorMethod_Type);
    return PyModule_AddObject(module, "DbCursorMethod", (PyObject *)&DbCursorMethod_Type);
}
