/*
 * tracer.c — ddtrace.trace.Tracer's C half: span creation and activation
 * (the hot path), flush/shutdown with the GIL released, stats, and access
 * to the in-memory writer for tests.
 *
 * The Python package subclasses this type to add what is cheap in Python
 * and rare at run time: wrap(), configure(), the context provider object,
 * log correlation. trace() and start_span() stay in C.
 */
#include "ext.h"

#include "args.h"

static int Tracer_init(PyTracer *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"default_service", "lang_version", NULL};
    const char *default_service = NULL, *lang_version = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|zz", names, &default_service, &lang_version))
        return -1;
    if (self->tracer) return 0;
    ct_config *config = ct_config_new();
    if (!config || ct_config_load_env(config) != CT_OK) {
        ct_config_free(config);
        PyErr_NoMemory();
        return -1;
    }
    if (lang_version) ct_config_set(config, "_CT_LANG_VERSION", lang_version);
    ct_config_set(config, "_CT_LANG_INTERPRETER", "CPython");
    ct__tracer_options options = {
        .lock_free = 1, .language = "python", .default_service = default_service};
    int rc;
    self->tracer = ct__tracer_new_with(config, &options, &rc);
    ct_config_free(config);
    if (!self->tracer) {
        PyErr_Format(PyExc_RuntimeError, "ctrace: cannot create the tracer: %s", ct_strerror(rc));
        return -1;
    }
    return 0;
}

static void Tracer_dealloc(PyTracer *self)
{
    if (self->weakrefs) PyObject_ClearWeakRefs((PyObject *)self);
    Py_CLEAR(self->finish_hook);
    if (self->tracer) {
        ct_tracer *tracer = self->tracer;
        self->tracer = NULL;
        Py_BEGIN_ALLOW_THREADS ct_tracer_free(tracer, 1000);
        Py_END_ALLOW_THREADS
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_ready(PyTracer *self)
{
    if (self->tracer) return 0;
    PyErr_SetString(PyExc_RuntimeError, "Tracer.__init__ was not called");
    return -1;
}

/* trace(name, service=None, resource=None, span_type=None) */
static PyObject *Tracer_trace(PyTracer *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    static const char *const names[] = {"name", "service", "resource", "span_type"};
    PyObject *a[4];
    if (ct_parse_args("trace", args, nargs, kwnames, names, a, 4) < 0 || check_ready(self) < 0)
        return NULL;
    if (!a[0]) {
        PyErr_SetString(PyExc_TypeError, "trace() missing required argument 'name'");
        return NULL;
    }
    PyObject *parent = ct_ext_active();
    if (!parent) return NULL;
    PyObject *span = (PyObject *)ct_ext_span_start(self, a[0], a[1], a[2], a[3],
                                                   parent == Py_None ? NULL : parent, 1);
    Py_DECREF(parent);
    return span;
}

/* start_span(name, child_of=None, service=None, resource=None,
 *            span_type=None, activate=False) */
static PyObject *Tracer_start_span(PyTracer *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    static const char *const names[] = {"name",     "child_of",  "service",
                                        "resource", "span_type", "activate"};
    PyObject *a[6];
    if (ct_parse_args("start_span", args, nargs, kwnames, names, a, 6) < 0 || check_ready(self) < 0)
        return NULL;
    if (!a[0]) {
        PyErr_SetString(PyExc_TypeError, "start_span() missing required argument 'name'");
        return NULL;
    }
    PyObject *child_of = ct_arg_or_null(a[1]);
    if (child_of && !PyObject_TypeCheck(child_of, &PySpan_Type) &&
        !PyObject_TypeCheck(child_of, &PyTraceContext_Type)) {
        PyErr_SetString(PyExc_TypeError, "child_of must be a Span or a Context");
        return NULL;
    }
    int activate = a[5] ? PyObject_IsTrue(a[5]) : 0;
    if (activate < 0) return NULL;
    return (PyObject *)ct_ext_span_start(self, a[0], a[2], a[3], a[4], child_of, activate);
}

static PyObject *Tracer_current_span(PyTracer *self, PyObject *unused)
{
    PyObject *active = ct_ext_active();
    if (active && !PyObject_TypeCheck(active, &PySpan_Type)) {
        Py_DECREF(active);
        Py_RETURN_NONE;
    }
    return active;
}

static PyObject *Tracer_current_root_span(PyTracer *self, PyObject *unused)
{
    PyObject *active = Tracer_current_span(self, NULL);
    if (!active || active == Py_None) return active;
    PySpan *span = (PySpan *)active;
    while (span->parent && !ct__span_local_root(&span->span)) span = (PySpan *)span->parent;
    Py_INCREF(span);
    Py_DECREF(active);
    return (PyObject *)span;
}

static PyObject *Tracer_current_trace_context(PyTracer *self, PyObject *unused)
{
    PyObject *active = ct_ext_active();
    if (!active || active == Py_None || PyObject_TypeCheck(active, &PyTraceContext_Type))
        return active;
    PyObject *context = ct_ext_context_for_span((PySpan *)active);
    Py_DECREF(active);
    return context;
}

static PyObject *Tracer_set_tags(PyTracer *self, PyObject *tags)
{
    if (check_ready(self) < 0) return NULL;
    if (!PyDict_Check(tags)) {
        PyErr_SetString(PyExc_TypeError, "set_tags() expects a dict");
        return NULL;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(tags, &pos, &key, &value)) {
        ct_string *k = ct_ext_string_of(key);
        if (!k) {
            if (PyErr_Occurred()) return NULL;
            continue;
        }
        /* routed as Span.set_tag routes them */
        double number;
        if (ct_ext_number_tag(value, &number)) {
            if (number == number && number - number == 0) /* not NaN or inf */
                ct__tracer_set_global_metric(self->tracer, k, number);
        } else {
            ct_string *v = ct_ext_string_of(value);
            if (v) ct__tracer_set_global_meta(self->tracer, k, v);
            ct__string_unref(v);
        }
        ct__string_unref(k);
        if (PyErr_Occurred()) /* KeyboardInterrupt & co from a __str__ */
            return NULL;
    }
    Py_RETURN_NONE;
}

/* _map_service(from, to): spans started with service `from` get `to`
 * (DD_SERVICE_MAPPING's entry point for ddtrace.config.service_mapping). */
static PyObject *Tracer_map_service(PyTracer *self, PyObject *args)
{
    const char *from, *to;
    if (check_ready(self) < 0 || !PyArg_ParseTuple(args, "ss:_map_service", &from, &to))
        return NULL;
    if (ct__tracer_map_service_to(self->tracer, from, to) != CT_OK) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static int timeout_ms_of(PyObject *timeout, int *ms)
{
    *ms = -1;
    if (!timeout || timeout == Py_None) return 0;
    double seconds = PyFloat_AsDouble(timeout);
    if (seconds == -1.0 && PyErr_Occurred()) return -1;
    *ms = seconds <= 0 ? 0 : (int)(seconds * 1000);
    return 0;
}

static PyObject *Tracer_flush(PyTracer *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *timeout;
    int ms, rc;
    if (ct_parse_args("flush", args, nargs, kwnames, names, &timeout, 1) < 0 ||
        check_ready(self) < 0 || timeout_ms_of(timeout, &ms) < 0)
        return NULL;
    ct_tracer *tracer = self->tracer;
    Py_BEGIN_ALLOW_THREADS rc = ct_tracer_flush(tracer, ms);
    Py_END_ALLOW_THREADS return PyBool_FromLong(rc == CT_OK);
}

static PyObject *Tracer_shutdown(PyTracer *self, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *timeout;
    int ms;
    if (ct_parse_args("shutdown", args, nargs, kwnames, names, &timeout, 1) < 0 ||
        check_ready(self) < 0 || timeout_ms_of(timeout, &ms) < 0)
        return NULL;
    ct_tracer *tracer = self->tracer;
    Py_BEGIN_ALLOW_THREADS ct__tracer_shutdown(tracer, ms);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *Tracer_stats(PyTracer *self, PyObject *unused)
{
    if (check_ready(self) < 0) return NULL;
    ct_tracer_stats s;
    ct_tracer_get_stats(self->tracer, &s);
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "spans_started",
        (unsigned long long)s.spans_started, "spans_finished", (unsigned long long)s.spans_finished,
        "traces_completed", (unsigned long long)s.traces_completed, "traces_dropped",
        (unsigned long long)s.traces_dropped, "spans_dropped", (unsigned long long)s.spans_dropped,
        "tags_dropped", (unsigned long long)s.tags_dropped, "traces_sent",
        (unsigned long long)s.traces_sent, "spans_sent", (unsigned long long)s.spans_sent,
        "payloads_sent", (unsigned long long)s.payloads_sent, "payloads_failed",
        (unsigned long long)s.payloads_failed, "bytes_buffered",
        (unsigned long long)s.bytes_buffered, "spans_buffered",
        (unsigned long long)s.spans_buffered);
}

/* _take_payload(version=4) -> (bytes, trace_count): what the in-memory
 * writer holds, encoded as the agent would receive it; the writer is
 * emptied. For tests. */
static PyObject *Tracer_take_payload(PyTracer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_ready(self) < 0) return NULL;
    int version = nargs >= 1 ? (int)PyLong_AsLong(args[0]) : 4;
    if (PyErr_Occurred()) return NULL;
    ct_buffer payload = CT_BUFFER_INIT;
    uint32_t chunks = 0;
    int rc = ct__tracer_take_payload(self->tracer, version, &payload, &chunks);
    PyObject *result = NULL;
    if (rc == CT_OK)
        result = Py_BuildValue("(y#I)", payload.data ? (const char *)payload.data : "",
                               (Py_ssize_t)payload.len, chunks);
    else if (rc == CT_ESTATE)
        PyErr_SetString(PyExc_RuntimeError, "the tracer does not use the in-memory writer "
                                            "(set _CT_IN_MEMORY_WRITER=1)");
    else PyErr_Format(PyExc_RuntimeError, "encoding failed: %s", ct_strerror(rc));
    ct__buffer_release(&payload);
    return result;
}

static PyObject *Tracer_get_enabled(PyTracer *self, void *c)
{
    return PyBool_FromLong(self->tracer && ct__tracer_enabled(self->tracer));
}

static int Tracer_set_enabled(PyTracer *self, PyObject *value, void *c)
{
    int truth = value ? PyObject_IsTrue(value) : -1;
    if (truth < 0 || check_ready(self) < 0) return -1;
    ct__tracer_set_enabled(self->tracer, truth);
    return 0;
}

static PyObject *Tracer_get_service(PyTracer *self, void *c)
{
    if (!self->tracer) Py_RETURN_NONE;
    return ct_ext_to_str(ct__tracer_service(self->tracer));
}

static PyObject *Tracer_get_agent_url(PyTracer *self, void *c)
{
    if (!self->tracer) Py_RETURN_NONE;
    return PyUnicode_FromString(ct__tracer_agent_url(self->tracer));
}

static PyObject *Tracer_get_finish_hook(PyTracer *self, void *c)
{
    PyObject *hook = self->finish_hook ? self->finish_hook : Py_None;
    Py_INCREF(hook);
    return hook;
}

/* None turns deferral off: spans finishing afterwards are recorded at once. */
static int Tracer_set_finish_hook(PyTracer *self, PyObject *hook, void *c)
{
    if (hook && hook != Py_None && !PyCallable_Check(hook)) {
        PyErr_SetString(PyExc_TypeError, "_finish_hook must be callable or None");
        return -1;
    }
    PyObject *old = self->finish_hook;
    self->finish_hook = NULL;
    if (hook && hook != Py_None) {
        Py_INCREF(hook);
        self->finish_hook = hook;
    }
    Py_XDECREF(old);
    return 0;
}

static PyMethodDef Tracer_methods[] = {
    {"trace", (PyCFunction)(void (*)(void))Tracer_trace, METH_FASTCALL | METH_KEYWORDS,
     "trace(name, service=None, resource=None, span_type=None) -> Span, child of the active span, activated."},
    {"start_span", (PyCFunction)(void (*)(void))Tracer_start_span, METH_FASTCALL | METH_KEYWORDS,
     "start_span(name, child_of=None, service=None, resource=None, span_type=None, activate=False) -> Span"},
    {"current_span", (PyCFunction)Tracer_current_span, METH_NOARGS, "The active span or None."},
    {"current_root_span", (PyCFunction)Tracer_current_root_span, METH_NOARGS,
     "The local root of the active span, or None."},
    {"current_trace_context", (PyCFunction)Tracer_current_trace_context, METH_NOARGS,
     "The active Context, or None."},
    {"set_tags", (PyCFunction)Tracer_set_tags, METH_O, "Tags for every span created afterwards."},
    {"_map_service", (PyCFunction)Tracer_map_service, METH_VARARGS,
     "Spans started with service `from` get `to`."},
    {"flush", (PyCFunction)(void (*)(void))Tracer_flush, METH_FASTCALL | METH_KEYWORDS,
     "Send what is buffered and wait (GIL released)."},
    {"_shutdown", (PyCFunction)(void (*)(void))Tracer_shutdown, METH_FASTCALL | METH_KEYWORDS,
     "Flush and stop sending."},
    {"_stats", (PyCFunction)Tracer_stats, METH_NOARGS,
     "Counters of spans and traces, sent and dropped."},
    {"_take_payload", (PyCFunction)(void (*)(void))Tracer_take_payload, METH_FASTCALL,
     "Tests: the in-memory writer's traces, encoded."},
    {NULL},
};

static PyGetSetDef Tracer_getset[] = {
    {"enabled", (getter)Tracer_get_enabled, (setter)Tracer_set_enabled, "Whether traces are sent.",
     NULL},
    {"_default_service", (getter)Tracer_get_service, NULL, "The default service.", NULL},
    {"_agent_url", (getter)Tracer_get_agent_url, NULL, "Where traces are sent.", NULL},
    {"_finish_hook", (getter)Tracer_get_finish_hook, (setter)Tracer_set_finish_hook,
     "Called with each finished span while trace processors are configured.", NULL},
    {NULL},
};

PyTypeObject PyTracer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.Tracer",
    .tp_basicsize = sizeof(PyTracer),
    .tp_dealloc = (destructor)Tracer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The C half of ddtrace.trace.Tracer.",
    .tp_weaklistoffset = offsetof(PyTracer, weakrefs),
    .tp_methods = Tracer_methods,
    .tp_getset = Tracer_getset,
    .tp_init = (initproc)Tracer_init,
    .tp_new = PyType_GenericNew,
};

int ct_ext_tracer_type_init(PyObject *module)
{
    if (PyType_Ready(&PyTracer_Type) < 0) return -1;
    Py_INCREF(&PyTracer_Type);
    return PyModule_AddObject(module, "Tracer", (PyObject *)&PyTracer_Type);
}
