/*
 * traced_call.c — ddtrace._ctrace.TracedCall: the integrations' span
 * around one call, called by wrapt as wrapper(wrapped, instance, args,
 * kwargs). See traced_call.h for why it exists.
 *
 * A call: if the tracer is disabled, the wrapped function is called and
 * nothing else happens. Otherwise the integration's service is looked up
 * (cached, see below), a span of the fixed name is started as a child of
 * the active span and made active, the integration's tags and the fixed
 * tags are set, an entry point's code origin is named on it and on the
 * local root (once per trace), the wrapped function is called, an escaping
 * exception is recorded unless its type is one the framework uses for
 * control flow, and the span is finished. The exception is re-raised
 * unchanged: the same object, with its traceback.
 *
 * Failure policy and service cache: integration.h. A failure of the
 * tracing leaves the call untraced, or with a finished span of fewer tags;
 * the wrapped function is always called exactly once.
 *
 * MappedResult(func) is the other wrapper integrations need on a hot path:
 * wrapped(*args, **kwargs) with each item of its result passed through
 * func, lazily (map()): Flask's signals ask blinker for their receivers on
 * every send, almost always to find none, and each receiver found is
 * wrapped to be traced.
 */
#include "traced_call.h"

#include "integration.h"

typedef struct TracedCall {
    PyObject_HEAD PyTracer *tracer;
    ct_ext_integration in;                 /* int_config, its service cache, failed() */
    PyObject *name, *resource, *span_type; /* resource, span_type: NULL for none */
    PyObject *tags;                        /* tuple of (key, value) set on every span, or NULL */
    PyObject *origin;                      /* code origin pairs of an entry point, or NULL */
    PyObject *ignored;                     /* exception types not recorded, or NULL */
    vectorcallfunc vectorcall;
} TracedCall;

/* interned names and the Span method called from here, set once */
static PyObject *str_origin_type, *str_entry;
static PyObject *span_get_tag;

/* -- the span ------------------------------------------------------------------------ */

/* The first view of a trace names its code on its span and on the local
 * root; a view called by another view leaves the outer one's. */
static int tag_origin(PySpan *span, PyObject *origin)
{
    PySpan *root = span;
    while (root->parent && !ct__span_local_root(&root->span)) root = (PySpan *)root->parent;
    PyObject *args[2] = {(PyObject *)root, str_origin_type};
    PyObject *current = PyObject_Vectorcall(span_get_tag, args, 2, NULL);
    if (!current) return -1;
    int already = PyUnicode_Check(current) && PyUnicode_Compare(current, str_entry) == 0;
    Py_DECREF(current);
    if (already) return 0;
    if (ct_ext_set_pairs(root, origin) < 0 || ct_ext_set_pairs(span, origin) < 0) return -1;
    return 0;
}

static int set_span_tags(TracedCall *self, PySpan *span)
{
    if (ct_ext_set_pairs(span, self->in.service_tags) < 0 || ct_ext_set_pairs(span, self->tags) < 0)
        return -1;
    return self->origin ? tag_origin(span, self->origin) : 0;
}

/* The started, active span (new reference), or NULL: with no exception
 * set when the tracing failed and was reported (the call goes on
 * untraced), with one that must propagate otherwise. */
static PySpan *start_span(TracedCall *self)
{
    PyObject *parent = ct_ext_integration_service(&self->in) < 0 ? NULL : ct_ext_active();
    if (!parent) {
        ct_ext_integration_failed(&self->in);
        return NULL;
    }
    PySpan *span = ct_ext_span_start(self->tracer, self->name, self->in.mapped, self->resource,
                                     self->span_type, parent == Py_None ? NULL : parent, 1);
    Py_DECREF(parent);
    if (!span) {
        ct_ext_integration_failed(&self->in);
        return NULL;
    }
    if (set_span_tags(self, span) < 0) {
        /* a span half set up is not left active: it would adopt what follows */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        ct_ext_span_finish(span, 0);
        Py_DECREF(span);
        PyErr_Restore(type, value, tb);
        ct_ext_integration_failed(&self->in);
        return NULL;
    }
    return span;
}

/* -- the call -------------------------------------------------------------------------- */

/* kwargs: a dict (checked by the caller); an empty one is not passed on */
static PyObject *call_wrapped(PyObject *wrapped, PyObject *args, PyObject *kwargs)
{
    return PyObject_Call(wrapped, args, PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
}

/* The wrapped call failed: record its exception on the span (unless of an
 * ignored type), finish the span, and leave the same exception set. */
static void finish_with_error(TracedCall *self, PySpan *span)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value) PyException_SetTraceback(value, tb);
    if (!self->ignored || !PyErr_GivenExceptionMatches(type, self->ignored))
        ct_ext_span_set_exc_info(span, type, value, tb ? tb : Py_None);
    if (ct_ext_span_finish(span, 0) < 0) PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

static PyObject *TracedCall_vectorcall(TracedCall *self, PyObject *const *args, size_t nargsf,
                                       PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 4 || kwnames || !PyTuple_Check(args[2]) || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "TracedCall expects (wrapped, instance, args tuple, kwargs dict)");
        return NULL;
    }
    PyObject *wrapped = args[0], *call_args = args[2], *call_kwargs = args[3];
    ct_tracer *core = self->tracer->tracer;
    if (!core || !ct__tracer_enabled(core)) return call_wrapped(wrapped, call_args, call_kwargs);
    PySpan *span = start_span(self);
    if (!span) return PyErr_Occurred() ? NULL : call_wrapped(wrapped, call_args, call_kwargs);
    PyObject *result = call_wrapped(wrapped, call_args, call_kwargs);
    if (!result) finish_with_error(self, span);
    else if (ct_ext_span_finish(span, 0) < 0) PyErr_Clear();
    Py_DECREF(span);
    return result;
}

/* -- the type ------------------------------------------------------------------------- */

static PyObject *none_to_null(PyObject *obj) { return obj == Py_None ? NULL : Py_NewRef(obj); }

static PyObject *TracedCall_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"tracer",    "int_config", "resolve", "failed",  "name", "resource",
                            "span_type", "tags",       "origin",  "ignored", NULL};
    PyObject *tracer, *int_config, *resolve, *failed, *name;
    PyObject *resource = Py_None, *span_type = Py_None, *tags = Py_None, *origin = Py_None;
    PyObject *ignored = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOU|OOOOO", names, &PyTracer_Type, &tracer,
                                     &PyDict_Type, &int_config, &resolve, &failed, &name, &resource,
                                     &span_type, &tags, &origin, &ignored))
        return NULL;
    if (!PyCallable_Check(resolve) || !PyCallable_Check(failed) ||
        (origin != Py_None && !PyTuple_Check(origin)) ||
        (ignored != Py_None && !PyTuple_Check(ignored))) {
        PyErr_SetString(PyExc_TypeError, "TracedCall(tracer, int_config, resolve, failed, name, "
                                         "resource=None, span_type=None, tags=None, "
                                         "origin=None, ignored=())");
        return NULL;
    }
    TracedCall *self = (TracedCall *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->vectorcall = (vectorcallfunc)TracedCall_vectorcall;
    self->tracer = (PyTracer *)Py_NewRef(tracer);
    self->name = Py_NewRef(name);
    self->resource = none_to_null(resource);
    self->span_type = none_to_null(span_type);
    self->origin = none_to_null(origin);
    self->ignored = ignored != Py_None && PyTuple_GET_SIZE(ignored) ? Py_NewRef(ignored) : NULL;
    if (ct_ext_integration_init(&self->in, int_config, resolve, failed) < 0 ||
        (tags != Py_None && !(self->tags = ct_ext_pairs_of(tags)))) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* clang-format off */
#define TRACED_CALL_FIELDS(X)                                                   \
    X(tracer) X(name) X(resource) X(span_type) X(tags) X(origin) X(ignored)
/* clang-format on */

static int TracedCall_traverse(TracedCall *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    TRACED_CALL_FIELDS(VISIT)
#undef VISIT
    return ct_ext_integration_traverse(&self->in, visit, arg);
}

static int TracedCall_clear(TracedCall *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    TRACED_CALL_FIELDS(CLEAR)
#undef CLEAR
    ct_ext_integration_clear(&self->in);
    return 0;
}

static void TracedCall_dealloc(TracedCall *self)
{
    PyObject_GC_UnTrack(self);
    TracedCall_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *TracedCall_repr(TracedCall *self)
{
    return PyUnicode_FromFormat("<TracedCall %R of %U>", self->name,
                                self->in.name ? self->in.name : Py_None);
}

static PyObject *TracedCall_get_name(TracedCall *self, void *c) { return Py_NewRef(self->name); }

static PyGetSetDef TracedCall_getset[] = {
    {"name", (getter)TracedCall_get_name, NULL, "The span's name.", NULL},
    {NULL},
};

static PyTypeObject TracedCall_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.TracedCall",
    .tp_basicsize = sizeof(TracedCall),
    .tp_dealloc = (destructor)TracedCall_dealloc,
    .tp_vectorcall_offset = offsetof(TracedCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)TracedCall_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "wrapt wrapper(wrapped, instance, args, kwargs) tracing the call in a span.",
    .tp_traverse = (traverseproc)TracedCall_traverse,
    .tp_clear = (inquiry)TracedCall_clear,
    .tp_getset = TracedCall_getset,
    .tp_new = TracedCall_new,
};

/* -- MappedResult ---------------------------------------------------------------------- */

typedef struct MappedResult {
    PyObject_HEAD PyObject *func;
    vectorcallfunc vectorcall;
} MappedResult;

static PyObject *MappedResult_vectorcall(MappedResult *self, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 4 || kwnames || !PyTuple_Check(args[2]) ||
        !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "MappedResult expects (wrapped, instance, args tuple, kwargs dict)");
        return NULL;
    }
    PyObject *result = call_wrapped(args[0], args[2], args[3]);
    if (!result) return NULL;
    PyObject *mapped =
        PyObject_CallFunctionObjArgs((PyObject *)&PyMap_Type, self->func, result, NULL);
    Py_DECREF(result);
    return mapped;
}

static PyObject *MappedResult_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *func;
    if (!PyArg_ParseTuple(args, "O:MappedResult", &func)) return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "MappedResult(func): func must be callable");
        return NULL;
    }
    MappedResult *self = (MappedResult *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->func = Py_NewRef(func);
    self->vectorcall = (vectorcallfunc)MappedResult_vectorcall;
    return (PyObject *)self;
}

static int MappedResult_traverse(MappedResult *self, visitproc visit, void *arg)
{
    Py_VISIT(self->func);
    return 0;
}

static int MappedResult_clear(MappedResult *self)
{
    Py_CLEAR(self->func);
    return 0;
}

static void MappedResult_dealloc(MappedResult *self)
{
    PyObject_GC_UnTrack(self);
    MappedResult_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject MappedResult_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.MappedResult",
    .tp_basicsize = sizeof(MappedResult),
    .tp_dealloc = (destructor)MappedResult_dealloc,
    .tp_vectorcall_offset = offsetof(MappedResult, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "wrapt wrapper(wrapped, instance, args, kwargs): map(func, wrapped(...)).",
    .tp_traverse = (traverseproc)MappedResult_traverse,
    .tp_clear = (inquiry)MappedResult_clear,
    .tp_new = MappedResult_new,
};

static PyObject *intern(const char *text) { return PyUnicode_InternFromString(text); }

int ct_ext_traced_call_init(PyObject *module)
{
    str_origin_type = intern("_dd.code_origin.type");
    str_entry = intern("entry");
    span_get_tag = PyObject_GetAttrString((PyObject *)&PySpan_Type, "get_tag");
    if (!str_origin_type || !str_entry || !span_get_tag || PyType_Ready(&TracedCall_Type) < 0 ||
        PyType_Ready(&MappedResult_Type) < 0)
        return -1;
    Py_INCREF(&TracedCall_Type);
    Py_INCREF(&MappedResult_Type);
    if (PyModule_AddObject(module, "TracedCall", (PyObject *)&TracedCall_Type) < 0) return -1;
    return PyModule_AddObject(module, "MappedResult", (PyObject *)&MappedResult_Type);
}
