/*
 * context.c — ddtrace.trace.Context: what a span passes to its children and
 * what propagation carries across processes (ids, sampling priority,
 * origin, `_dd.p.*` tags, baggage).
 *
 * A Context made by the user or by propagation is "remote": its fields live
 * in its own dicts. The Context of a local span also holds a reference to
 * the span's trace segment (a core reference, not a Python one, so there is
 * no span <-> context cycle), and its sampling priority reads and writes
 * the segment's, which is the one that will be sent.
 */
#include "ext.h"

#include "args.h"

#define PRIORITY_KEY "_sampling_priority_v1"
#define ORIGIN_KEY "_dd.origin"
#define TRACESTATE_KEY "tracestate"

static PyObject *dict_or_new(PyObject **slot)
{
    if (!*slot) *slot = PyDict_New();
    return *slot;
}

static int parse_u128(PyObject *value, uint64_t *high, uint64_t *low)
{
    *high = *low = 0;
    if (!value || value == Py_None) return 0;
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "trace_id must be an int");
        return -1;
    }
    *low = PyLong_AsUnsignedLongLongMask(value);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *upper = shift ? PyNumber_Rshift(value, shift) : NULL;
    Py_XDECREF(shift);
    if (!upper) return -1;
    *high = PyLong_AsUnsignedLongLongMask(upper);
    Py_DECREF(upper);
    return PyErr_Occurred() ? -1 : 0;
}

static int set_priority_value(PyTraceContext *self, PyObject *priority)
{
    if (self->trace) {
        int p = CT_PRIORITY_UNSET;
        if (priority && priority != Py_None) {
            long v = PyLong_AsLong(priority);
            if (v == -1 && PyErr_Occurred()) return -1;
            p = (int)v;
        }
        ct__trace_set_priority(self->trace, p, NULL);
    }
    if (!dict_or_new(&self->metrics)) return -1;
    if (!priority || priority == Py_None) {
        if (PyDict_DelItemString(self->metrics, PRIORITY_KEY) < 0) PyErr_Clear();
        return 0;
    }
    return PyDict_SetItemString(self->metrics, PRIORITY_KEY, priority);
}

static int set_origin_value(PyTraceContext *self, PyObject *origin)
{
    if (!dict_or_new(&self->meta)) return -1;
    if (!origin || origin == Py_None) {
        if (PyDict_DelItemString(self->meta, ORIGIN_KEY) < 0) PyErr_Clear();
        return 0;
    }
    return PyDict_SetItemString(self->meta, ORIGIN_KEY, origin);
}

static PyObject *copy_dict(PyObject *from)
{
    return (from && PyDict_Check(from)) ? PyDict_Copy(from) : PyDict_New();
}

static int Context_init(PyTraceContext *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"trace_id", "span_id",    "dd_origin", "sampling_priority", "meta",
                            "metrics",  "span_links", "baggage",   "is_remote",         NULL};
    PyObject *trace_id = NULL, *span_id = NULL, *origin = NULL, *priority = NULL, *meta = NULL,
             *metrics = NULL, *links = NULL, *baggage = NULL;
    int is_remote = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOOOOOOOp", names, &trace_id, &span_id,
                                     &origin, &priority, &meta, &metrics, &links, &baggage,
                                     &is_remote))
        return -1;
    if (parse_u128(trace_id, &self->trace_id_high, &self->trace_id_low) < 0) return -1;
    self->span_id = (span_id && span_id != Py_None) ? PyLong_AsUnsignedLongLongMask(span_id) : 0;
    if (PyErr_Occurred()) return -1;
    Py_XSETREF(self->meta, copy_dict(meta));
    Py_XSETREF(self->metrics, copy_dict(metrics));
    Py_XSETREF(self->baggage, copy_dict(baggage));
    Py_XSETREF(self->span_links,
               (links && PyList_Check(links)) ? PySequence_List(links) : PyList_New(0));
    self->is_remote = is_remote;
    if (!self->meta || !self->metrics || !self->baggage || !self->span_links) return -1;
    if (origin && origin != Py_None && set_origin_value(self, origin) < 0) return -1;
    if (priority && priority != Py_None && set_priority_value(self, priority) < 0) return -1;
    return 0;
}

/* The baggage of the nearest ancestor that has a Context, so that a trace's
 * spans share one baggage dict as in ddtrace. */
static PyObject *inherited_baggage(PySpan *span)
{
    for (PySpan *p = (PySpan *)span->parent; p; p = (PySpan *)p->parent)
        if (p->context && ((PyTraceContext *)p->context)->baggage) {
            Py_INCREF(((PyTraceContext *)p->context)->baggage);
            return ((PyTraceContext *)p->context)->baggage;
        }
    return PyDict_New();
}

PyObject *ct_ext_context_for_span(PySpan *span)
{
    if (span->context) {
        Py_INCREF(span->context);
        return span->context;
    }
    PyTraceContext *context = PyObject_GC_New(PyTraceContext, &PyTraceContext_Type);
    if (!context) return NULL;
    ct_trace *trace = ct__span_trace(&span->span);
    context->trace_id_high = ct_span_trace_id_high(&span->span);
    context->trace_id_low = ct_span_trace_id_low(&span->span);
    context->span_id = ct__span_id(&span->span);
    context->trace = trace ? ct__trace_ref(trace) : NULL;
    context->is_remote = 0;
    context->meta = PyDict_New();
    context->metrics = PyDict_New();
    context->baggage = inherited_baggage(span);
    context->span_links = PyList_New(0);
    PyObject_GC_Track(context);
    if (!context->meta || !context->metrics || !context->baggage || !context->span_links) {
        Py_DECREF(context);
        return NULL;
    }
    if (trace && ct__trace_origin(trace)) {
        PyObject *origin = ct_ext_to_str(ct__trace_origin(trace));
        if (origin) PyDict_SetItemString(context->meta, ORIGIN_KEY, origin);
        Py_XDECREF(origin);
    }
    /* The upstream tracestate, so that injection re-sends the other
     * vendors' entries (ddtrace's spans share the extracted context). */
    if (trace && ct__trace_tracestate(trace)) {
        PyObject *tracestate = ct_ext_to_str(ct__trace_tracestate(trace));
        if (tracestate) PyDict_SetItemString(context->meta, TRACESTATE_KEY, tracestate);
        Py_XDECREF(tracestate);
    }
    span->context = (PyObject *)context;
    Py_INCREF(context);
    return (PyObject *)context;
}

static int Context_traverse(PyTraceContext *self, visitproc visit, void *arg)
{
    Py_VISIT(self->meta);
    Py_VISIT(self->metrics);
    Py_VISIT(self->baggage);
    Py_VISIT(self->span_links);
    return 0;
}

static int Context_clear(PyTraceContext *self)
{
    Py_CLEAR(self->meta);
    Py_CLEAR(self->metrics);
    Py_CLEAR(self->baggage);
    Py_CLEAR(self->span_links);
    return 0;
}

static void Context_dealloc(PyTraceContext *self)
{
    PyObject_GC_UnTrack(self);
    Context_clear(self);
    ct__trace_unref(self->trace);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Context_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyTraceContext *self = (PyTraceContext *)type->tp_alloc(type, 0);
    if (self) self->is_remote = 1;
    return (PyObject *)self;
}

/* -- attributes -------------------------------------------------------------------- */

static PyObject *Context_get_trace_id(PyTraceContext *self, void *c)
{
    if (!self->trace_id_low && !self->trace_id_high) Py_RETURN_NONE;
    return ct_ext_u128(self->trace_id_high, self->trace_id_low);
}

static int Context_set_trace_id(PyTraceContext *self, PyObject *v, void *c)
{
    return parse_u128(v, &self->trace_id_high, &self->trace_id_low);
}

static PyObject *Context_get_span_id(PyTraceContext *self, void *c)
{
    if (!self->span_id) Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(self->span_id);
}

static int Context_set_span_id(PyTraceContext *self, PyObject *v, void *c)
{
    self->span_id = (v && v != Py_None) ? PyLong_AsUnsignedLongLongMask(v) : 0;
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *Context_get_priority(PyTraceContext *self, void *c)
{
    if (self->trace) {
        int priority = ct__trace_sampling_priority(self->trace);
        if (priority == CT_PRIORITY_UNSET) Py_RETURN_NONE;
        return PyLong_FromLong(priority);
    }
    PyObject *p = self->metrics ? PyDict_GetItemString(self->metrics, PRIORITY_KEY) : NULL;
    p = p ? p : Py_None;
    Py_INCREF(p);
    return p;
}

static int Context_set_priority(PyTraceContext *self, PyObject *v, void *c)
{
    return set_priority_value(self, v);
}

static PyObject *Context_get_origin(PyTraceContext *self, void *c)
{
    PyObject *o = self->meta ? PyDict_GetItemString(self->meta, ORIGIN_KEY) : NULL;
    o = o ? o : Py_None;
    Py_INCREF(o);
    return o;
}

static int Context_set_origin(PyTraceContext *self, PyObject *v, void *c)
{
    return set_origin_value(self, v);
}

static PyObject *get_dict(PyObject **slot)
{
    PyObject *d = dict_or_new(slot);
    Py_XINCREF(d);
    return d;
}

static PyObject *Context_get_meta(PyTraceContext *self, void *c) { return get_dict(&self->meta); }
static PyObject *Context_get_metrics(PyTraceContext *self, void *c)
{
    return get_dict(&self->metrics);
}
static PyObject *Context_get_baggage(PyTraceContext *self, void *c)
{
    return get_dict(&self->baggage);
}
static PyObject *Context_get_links(PyTraceContext *self, void *c)
{
    if (!self->span_links) self->span_links = PyList_New(0);
    Py_XINCREF(self->span_links);
    return self->span_links;
}
static PyObject *Context_get_is_remote(PyTraceContext *self, void *c)
{
    return PyBool_FromLong(self->is_remote);
}

/* -- baggage ------------------------------------------------------------------------ */

static PyObject *Context_set_baggage_item(PyTraceContext *self, PyObject *const *args,
                                          Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_baggage_item(key, value)");
        return NULL;
    }
    if (!dict_or_new(&self->baggage) || PyDict_SetItem(self->baggage, args[0], args[1]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Context_get_baggage_item(PyTraceContext *self, PyObject *key)
{
    PyObject *v = self->baggage ? PyDict_GetItemWithError(self->baggage, key) : NULL;
    if (!v && PyErr_Occurred()) return NULL;
    v = v ? v : Py_None;
    Py_INCREF(v);
    return v;
}

static PyObject *Context_get_all_baggage_items(PyTraceContext *self, PyObject *unused)
{
    return self->baggage ? PyDict_Copy(self->baggage) : PyDict_New();
}

static PyObject *Context_remove_baggage_item(PyTraceContext *self, PyObject *key)
{
    if (self->baggage && PyDict_DelItem(self->baggage, key) < 0) PyErr_Clear();
    Py_RETURN_NONE;
}

static PyObject *Context_remove_all_baggage_items(PyTraceContext *self, PyObject *unused)
{
    if (self->baggage) PyDict_Clear(self->baggage);
    Py_RETURN_NONE;
}

static PyObject *Context_repr(PyTraceContext *self)
{
    PyObject *trace_id = Context_get_trace_id(self, NULL);
    PyObject *span_id = Context_get_span_id(self, NULL);
    PyObject *r = PyUnicode_FromFormat(
        "Context(trace_id=%S, span_id=%S, _meta=%R, _metrics=%R, _span_links=%R, _baggage=%R, _is_remote=%s)",
        trace_id, span_id, self->meta ? self->meta : Py_None,
        self->metrics ? self->metrics : Py_None, self->span_links ? self->span_links : Py_None,
        self->baggage ? self->baggage : Py_None, self->is_remote ? "True" : "False");
    Py_XDECREF(trace_id);
    Py_XDECREF(span_id);
    return r;
}

static PyObject *Context_richcompare(PyTraceContext *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(other, &PyTraceContext_Type))
        Py_RETURN_NOTIMPLEMENTED;
    PyTraceContext *o = (PyTraceContext *)other;
    int equal = self->trace_id_high == o->trace_id_high && self->trace_id_low == o->trace_id_low &&
                self->span_id == o->span_id;
    if (equal && self->meta && o->meta)
        equal = PyObject_RichCompareBool(self->meta, o->meta, Py_EQ) == 1;
    if (equal && self->metrics && o->metrics)
        equal = PyObject_RichCompareBool(self->metrics, o->metrics, Py_EQ) == 1;
    PyErr_Clear();
    return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

static PyGetSetDef Context_getset[] = {
    {"trace_id", (getter)Context_get_trace_id, (setter)Context_set_trace_id, NULL, NULL},
    {"span_id", (getter)Context_get_span_id, (setter)Context_set_span_id, NULL, NULL},
    {"sampling_priority", (getter)Context_get_priority, (setter)Context_set_priority, NULL, NULL},
    {"dd_origin", (getter)Context_get_origin, (setter)Context_set_origin, NULL, NULL},
    {"_meta", (getter)Context_get_meta, NULL, NULL, NULL},
    {"_metrics", (getter)Context_get_metrics, NULL, NULL, NULL},
    {"_baggage", (getter)Context_get_baggage, NULL, NULL, NULL},
    {"_span_links", (getter)Context_get_links, NULL, NULL, NULL},
    {"_is_remote", (getter)Context_get_is_remote, NULL, NULL, NULL},
    {NULL},
};

static PyMethodDef Context_methods[] = {
    {"set_baggage_item", (PyCFunction)(void (*)(void))Context_set_baggage_item, METH_FASTCALL,
     NULL},
    {"get_baggage_item", (PyCFunction)Context_get_baggage_item, METH_O, NULL},
    {"get_all_baggage_items", (PyCFunction)Context_get_all_baggage_items, METH_NOARGS, NULL},
    {"remove_baggage_item", (PyCFunction)Context_remove_baggage_item, METH_O, NULL},
    {"remove_all_baggage_items", (PyCFunction)Context_remove_all_baggage_items, METH_NOARGS, NULL},
    {NULL},
};

PyTypeObject PyTraceContext_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace.trace.Context",
    .tp_basicsize = sizeof(PyTraceContext),
    .tp_dealloc = (destructor)Context_dealloc,
    .tp_repr = (reprfunc)Context_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The propagated state of a trace: ids, sampling priority, origin, baggage.",
    .tp_traverse = (traverseproc)Context_traverse,
    .tp_clear = (inquiry)Context_clear,
    .tp_richcompare = (richcmpfunc)Context_richcompare,
    .tp_methods = Context_methods,
    .tp_getset = Context_getset,
    .tp_init = (initproc)Context_init,
    .tp_new = Context_new,
};

int ct_ext_context_type_init(PyObject *module)
{
    if (PyType_Ready(&PyTraceContext_Type) < 0) return -1;
    Py_INCREF(&PyTraceContext_Type);
    return PyModule_AddObject(module, "Context", (PyObject *)&PyTraceContext_Type);
}
