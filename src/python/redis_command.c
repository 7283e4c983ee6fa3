/*
 * redis_command.c — ddtrace._ctrace.RedisCommand: redis-py's
 * execute_command in a span, called by wrapt as wrapper(wrapped, instance,
 * args, kwargs). See redis_command.h for what a call does and why.
 */
#include "redis_command.h"

#include "integration_span.h"

/* contrib/_cache_args.py's VALUE_MAX_LEN: one argument's longest text */
#define VALUE_MAX_LEN 100

typedef struct RedisCommand {
    ct_ext_method method;   /* first: the method replaced (wrapped) */
    ct_ext_integration it;  /* tracer, config, service, failures */
    PyObject *client_tags;  /* callable(pool, instance) -> the client's tags dict */
    PyObject *row_count;    /* callable(command, result) -> int */
    PyObject *row_commands; /* frozenset of the commands with a db.row_count */
    PyObject *name, *span_type;
    vectorcallfunc vectorcall;
} RedisCommand;

/* interned names and texts, set once */
static PyObject *str_connection_pool, *str_span_tags, *str_cmd_max_length, *str_resource_only;
static PyObject *str_raw_command, *str_args_length, *str_row_count;
static PyObject *str_space, *str_too_long, *str_placeholder;

/* -- the command's text (contrib/_cache_args.py's stringify_cache_args) ------------------ */

/* The command's arguments: the call's, after the instance. */
typedef struct command_args {
    PyObject *const *items;
    Py_ssize_t count;
} command_args;

/* Every argument a str and none over a limit: the text is their join. */
static int plain_args(command_args args, Py_ssize_t cmd_max)
{
    Py_ssize_t length = 0;
    for (Py_ssize_t i = 0; i < args.count; i++) {
        PyObject *arg = args.items[i];
        if (!PyUnicode_Check(arg)) return 0;
        Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
        if (n > VALUE_MAX_LEN || length + n > cmd_max) return 0;
        length += n;
    }
    return 1;
}

/* One argument as text (new reference), NULL with str()'s exception. */
static PyObject *arg_text(PyObject *arg)
{
    if (PyBytes_Check(arg))
        return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg),
                                    "backslashreplace");
    if (PyUnicode_Check(arg)) return Py_NewRef(arg);
    return PyObject_Str(arg);
}

/* text[:end] + "..." (Python's slice: a negative end counts from the end).
 * Steals text; new reference or NULL with an exception. */
static PyObject *cut(PyObject *text, Py_ssize_t end)
{
    PyObject *head = PySequence_GetSlice(text, 0, end);
    Py_DECREF(text);
    PyObject *marked = head ? PyUnicode_Concat(head, str_too_long) : NULL;
    Py_XDECREF(head);
    return marked;
}

/* Appends the texts of args to out as stringify_cache_args's loop does.
 * 0, or -1 with an exception that is not an Exception. */
static int append_texts(PyObject *out, command_args args, Py_ssize_t cmd_max)
{
    Py_ssize_t length = 0;
    for (Py_ssize_t i = 0; i < args.count; i++) {
        PyObject *text = arg_text(args.items[i]);
        if (text && PyUnicode_GET_LENGTH(text) > VALUE_MAX_LEN) text = cut(text, VALUE_MAX_LEN);
        int last = 0;
        if (text && length + PyUnicode_GET_LENGTH(text) > cmd_max) {
            text = cut(text, cmd_max - length);
            last = 1;
        }
        if (!text) { /* an argument that cannot be shown ends the text */
            if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
            PyErr_Clear();
            return PyList_Append(out, str_placeholder);
        }
        length += PyUnicode_GET_LENGTH(text);
        int rc = PyList_Append(out, text);
        Py_DECREF(text);
        if (rc < 0 || last) return rc;
    }
    return 0;
}

/* str arguments joined by spaces (" ".join without a sequence object).
 * New reference, NULL with an exception. */
static PyObject *join_plain(command_args args)
{
    Py_ssize_t length = args.count ? args.count - 1 : 0;
    Py_UCS4 widest = 127;
    for (Py_ssize_t i = 0; i < args.count; i++) {
        length += PyUnicode_GET_LENGTH(args.items[i]);
        Py_UCS4 max = PyUnicode_MAX_CHAR_VALUE(args.items[i]);
        if (max > widest) widest = max;
    }
    PyObject *text = PyUnicode_New(length, widest);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; text && i < args.count; i++) {
        if (i) PyUnicode_WRITE(PyUnicode_KIND(text), PyUnicode_DATA(text), at++, ' ');
        Py_ssize_t n = PyUnicode_GET_LENGTH(args.items[i]);
        if (PyUnicode_CopyCharacters(text, at, args.items[i], 0, n) < 0) Py_CLEAR(text);
        at += n;
    }
    return text;
}

/* redis.raw_command of a command's arguments. New reference, or NULL with
 * an exception. */
static PyObject *raw_command(command_args args, Py_ssize_t cmd_max)
{
    if (plain_args(args, cmd_max)) return join_plain(args);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    PyObject *text = append_texts(out, args, cmd_max) < 0 ? NULL : PyUnicode_Join(str_space, out);
    Py_DECREF(out);
    return text;
}

/* The text's first word (new reference), NULL with an exception. */
static PyObject *first_word(PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t space = PyUnicode_FindChar(text, ' ', 0, length, 1);
    if (space == -2) return NULL;
    return space < 0 ? Py_NewRef(text) : PyUnicode_Substring(text, 0, space);
}

/* A setting of config.redis (borrowed), NULL with a KeyError if unset. */
static PyObject *setting(RedisCommand *self, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(self->it.int_config, key);
    if (!value && !PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
    return value;
}

/* -- the client's tags ------------------------------------------------------------------ */

/* getattr(obj, name) (new reference), NULL with no exception when missing */
static PyObject *optional_attr(PyObject *obj, PyObject *name)
{
    PyObject *value;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject_GetOptionalAttr(obj, name, &value);
#else
    _PyObject_LookupAttr(obj, name, &value);
#endif
    return value;
}

/* The client's tags dict, kept on its connection pool (a cluster client:
 * on itself). New reference, or NULL with an exception. */
static PyObject *client_tags_of(RedisCommand *self, PyObject *instance)
{
    PyObject *pool = optional_attr(instance, str_connection_pool);
    if (!pool) {
        if (PyErr_Occurred()) return NULL;
        pool = Py_NewRef(instance);
    }
    PyObject *tags = optional_attr(pool, str_span_tags);
    if (!tags && !PyErr_Occurred())
        tags = PyObject_CallFunctionObjArgs(self->client_tags, pool, instance, NULL);
    Py_DECREF(pool);
    if (tags && !PyDict_Check(tags)) {
        Py_CLEAR(tags);
        PyErr_SetString(PyExc_TypeError, "RedisCommand: the client's tags must be a dict");
    }
    return tags;
}

/* -- the span ----------------------------------------------------------------------------- */

static int set_command_tags(RedisCommand *self, PySpan *span, PyObject *client_tags,
                            PyObject *query, Py_ssize_t nargs)
{
    if (ct_ext_set_tag_pairs(span, self->it.service.tags) < 0 ||
        ct_ext_set_dict_tags(span, client_tags) < 0 ||
        ct_ext_span_set_tag(span, str_raw_command, query) < 0)
        return -1;
    PyObject *length = PyLong_FromSsize_t(nargs);
    int rc = length ? ct_ext_span_set_tag(span, str_args_length, length) : -1;
    Py_XDECREF(length);
    return rc;
}

/* What a span is started with: its resource, the command's text and name,
 * the client's tags (new references, all NULL on failure). 0, or -1 with
 * an exception. */
typedef struct command_parts {
    PyObject *query, *command, *resource, *client_tags;
} command_parts;

static void parts_clear(command_parts *parts)
{
    Py_CLEAR(parts->query);
    Py_CLEAR(parts->command);
    Py_CLEAR(parts->resource);
    Py_CLEAR(parts->client_tags);
}

static int command_parts_of(RedisCommand *self, PyObject *instance, command_args args,
                            command_parts *parts)
{
    PyObject *max_setting = setting(self, str_cmd_max_length);
    Py_ssize_t cmd_max = max_setting ? PyNumber_AsSsize_t(max_setting, PyExc_OverflowError) : -1;
    if (cmd_max == -1 && PyErr_Occurred()) return -1;
    PyObject *resource_only = setting(self, str_resource_only);
    int only = resource_only ? PyObject_IsTrue(resource_only) : -1;
    if (only < 0) return -1;
    parts->query = raw_command(args, cmd_max);
    parts->command = parts->query ? first_word(parts->query) : NULL;
    parts->client_tags = parts->command ? client_tags_of(self, instance) : NULL;
    if (!parts->client_tags) {
        parts_clear(parts);
        return -1;
    }
    parts->resource = Py_NewRef(only ? parts->command : parts->query);
    return 0;
}

/* The started, active span (new reference) and the command's name in
 * *command, or NULL: with no exception set when the tracing failed and was
 * reported (the command runs untraced), with one that must propagate. */
static PySpan *start_span(RedisCommand *self, PyObject *instance, command_args args,
                          PyObject **command)
{
    command_parts parts = {0};
    PyObject *parent = NULL;
    PySpan *span = NULL;
    if (ct_ext_integration_ensure_service(&self->it) < 0 ||
        command_parts_of(self, instance, args, &parts) < 0 || !(parent = ct_ext_active()))
        goto failed;
    span = ct_ext_span_start(self->it.tracer, self->name, self->it.service.mapped, parts.resource,
                             self->span_type, parent == Py_None ? NULL : parent, 1);
    Py_DECREF(parent);
    if (!span) goto failed;
    if (set_command_tags(self, span, parts.client_tags, parts.query, args.count) < 0 &&
        ct_ext_report_failure(self->it.failed, self->it.integration) < 0) {
        ct_ext_finish_keeping_error(span); /* not left active: it would adopt what follows */
        Py_CLEAR(span);
    }
    *command = span ? Py_NewRef(parts.command) : NULL;
    parts_clear(&parts);
    return span;
failed:
    parts_clear(&parts);
    ct_ext_report_failure(self->it.failed, self->it.integration);
    return NULL;
}

/* -- the call ----------------------------------------------------------------------------- */

/* db.row_count of a successful command (new reference), None for none;
 * NULL with an exception of row_count(). */
static PyObject *row_count_of(RedisCommand *self, PyObject *command, PyObject *result)
{
    if (result == Py_None) return PyLong_FromLong(0);
    if (PyBytes_CheckExact(result)) /* GET's answer, nearly always */
        return PyLong_FromLong(PyBytes_GET_SIZE(result) ? 1 : 0);
    return PyObject_CallFunctionObjArgs(self->row_count, command, result, NULL);
}

/* Tags db.row_count for a successful command. 0, or -1 with an exception
 * that must propagate. */
static int tag_row_count(RedisCommand *self, PySpan *span, PyObject *command, PyObject *result)
{
    PyObject *count = row_count_of(self, command, result);
    if (!count) return ct_ext_report_failure(self->it.failed, self->it.integration);
    int rc = PyLong_CheckExact(count) ? ct_ext_span_set_tag(span, str_row_count, count) : 0;
    Py_DECREF(count);
    return rc;
}

/* The command failed: db.row_count 0 if it is one that has it, the
 * exception recorded, the span finished, the exception still set. */
static void finish_failed(RedisCommand *self, PySpan *span, int has_rows)
{
    if (has_rows) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *zero = PyLong_FromLong(0);
        if (!zero || ct_ext_span_set_tag(span, str_row_count, zero) < 0) PyErr_Clear();
        Py_XDECREF(zero);
        PyErr_Restore(type, value, tb);
    }
    ct_ext_finish_with_error(span, NULL);
}

/* Finishes the span of a command that returned result (NULL: raised, the
 * exception set). Returns result, or NULL with an exception. Steals
 * result. */
static PyObject *finish_command(RedisCommand *self, PySpan *span, PyObject *command,
                                PyObject *result)
{
    int has_rows = PySet_Contains(self->row_commands, command);
    if (has_rows < 0) {
        PyErr_Clear(); /* (an str in a frozenset: cannot fail) */
        has_rows = 0;
    }
    if (!result) {
        finish_failed(self, span, has_rows);
        return NULL;
    }
    if (has_rows && tag_row_count(self, span, command, result) < 0) Py_CLEAR(result);
    if (result) {
        if (ct_ext_span_finish(span, 0) < 0) PyErr_Clear();
    } else {
        ct_ext_finish_keeping_error(span);
    }
    return result;
}

/* Called as the method it replaces: args[0] the client, then the
 * command's arguments; the same vector goes on to the wrapped method. */
static PyObject *RedisCommand_vectorcall(RedisCommand *self, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1 || !ct_ext_integration_enabled(&self->it)) /* (no client: its TypeError) */
        return PyObject_Vectorcall(self->method.wrapped, args, nargsf, kwnames);
    command_args cmd = {args + 1, nargs - 1};
    PyObject *command = NULL;
    PySpan *span = start_span(self, args[0], cmd, &command);
    if (!span)
        return PyErr_Occurred() ? NULL
                                : PyObject_Vectorcall(self->method.wrapped, args, nargsf, kwnames);
    PyObject *result = PyObject_Vectorcall(self->method.wrapped, args, nargsf, kwnames);
    result = finish_command(self, span, command, result);
    Py_DECREF(command);
    Py_DECREF(span);
    return result;
}

/* -- the type ----------------------------------------------------------------------------- */

/* RedisCommand.raw_command(args, cmd_max_length): redis.raw_command of a
 * tuple of arguments, for tests to compare with _cache_args.py. */
static PyObject *RedisCommand_raw_command(PyObject *unused, PyObject *args)
{
    PyObject *tuple;
    Py_ssize_t cmd_max;
    if (!PyArg_ParseTuple(args, "O!n:raw_command", &PyTuple_Type, &tuple, &cmd_max)) return NULL;
    command_args items = {&PyTuple_GET_ITEM(tuple, 0), PyTuple_GET_SIZE(tuple)};
    return raw_command(items, cmd_max);
}

static PyObject *RedisCommand_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"tracer",    "int_config",   "resolve", "failed",    "client_tags",
                            "row_count", "row_commands", "name",    "span_type", "wrapped",
                            NULL};
    PyObject *tracer, *int_config, *resolve, *failed, *client_tags, *row_count, *row_commands;
    PyObject *name, *span_type, *wrapped;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOOOO!UUO", names, &PyTracer_Type, &tracer,
                                     &PyDict_Type, &int_config, &resolve, &failed, &client_tags,
                                     &row_count, &PyFrozenSet_Type, &row_commands, &name,
                                     &span_type, &wrapped))
        return NULL;
    if (!PyCallable_Check(client_tags) || !PyCallable_Check(row_count) ||
        !PyCallable_Check(wrapped)) {
        PyErr_SetString(PyExc_TypeError,
                        "RedisCommand: client_tags, row_count and wrapped must be callable");
        return NULL;
    }
    RedisCommand *self = (RedisCommand *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->vectorcall = (vectorcallfunc)RedisCommand_vectorcall;
    self->client_tags = Py_NewRef(client_tags);
    self->row_count = Py_NewRef(row_count);
    self->row_commands = Py_NewRef(row_commands);
    self->name = Py_NewRef(name);
    self->span_type = Py_NewRef(span_type);
    self->method.wrapped = Py_NewRef(wrapped);
    if (ct_ext_integration_init(&self->it, tracer, int_config, resolve, failed) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

#define REDIS_COMMAND_FIELDS(X) \
    X(method.wrapped) X(client_tags) X(row_count) X(row_commands) X(name) X(span_type)

static int RedisCommand_traverse(RedisCommand *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    REDIS_COMMAND_FIELDS(VISIT)
#undef VISIT
    return ct_ext_integration_traverse(&self->it, visit, arg);
}

static int RedisCommand_clear(RedisCommand *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    REDIS_COMMAND_FIELDS(CLEAR)
#undef CLEAR
    ct_ext_integration_clear(&self->it);
    return 0;
}

static void RedisCommand_dealloc(RedisCommand *self)
{
    PyObject_GC_UnTrack(self);
    RedisCommand_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef RedisCommand_methods[] = {
    {"raw_command", (PyCFunction)RedisCommand_raw_command, METH_VARARGS | METH_STATIC,
     "raw_command(args, cmd_max_length): redis.raw_command of a tuple of arguments."},
    {NULL},
};

static PyTypeObject RedisCommand_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.RedisCommand",
    .tp_basicsize = sizeof(RedisCommand),
    .tp_dealloc = (destructor)RedisCommand_dealloc,
    CT_EXT_METHOD_TYPE_SLOTS(RedisCommand),
    .tp_traverse = (traverseproc)RedisCommand_traverse,
    .tp_clear = (inquiry)RedisCommand_clear,
    .tp_methods = RedisCommand_methods,
    .tp_new = RedisCommand_new,
};

static PyObject *intern(const char *text) { return PyUnicode_InternFromString(text); }

int ct_ext_redis_command_init(PyObject *module)
{
    str_connection_pool = intern("connection_pool");
    str_span_tags = intern("_ctrace_span_tags");
    str_cmd_max_length = intern("cmd_max_length");
    str_resource_only = intern("resource_only_command");
    str_raw_command = intern("redis.raw_command");
    str_args_length = intern("redis.args_length");
    str_row_count = intern("db.row_count");
    str_space = intern(" ");
    str_too_long = intern("...");
    str_placeholder = intern("?");
    if (!str_connection_pool || !str_span_tags || !str_cmd_max_length || !str_resource_only ||
        !str_raw_command || !str_args_length || !str_row_count || !str_space || !str_too_long ||
        !str_placeholder || ct_ext_integration_span_init() < 0 ||
        PyType_Ready(&RedisCommand_Type) < 0)
        return -1;
    Py_INCREF(&RedisCommand_Type);
    return PyModule_AddObject(module, "RedisCommand", (PyObject *)&RedisCommand_Type);
}
