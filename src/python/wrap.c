/*
 * wrap.c — the callable behind @tracer.wrap() for plain functions and
 * methods: a C object with vectorcall that starts an activated span, calls
 * the function, records an escaping exception and finishes the span.
 *
 * Coroutine, generator and async-generator functions need the span to span
 * an await or a whole iteration, which is Python protocol work: the package
 * wraps those in Python (ddtrace/_wrap.py) and only plain calls, the common
 * and hot case, come here. The object has a __dict__ so functools can copy
 * __name__, __doc__, __module__, __qualname__ and __wrapped__ onto it, and
 * it binds like a function when used as a method.
 */
#include "ext.h"
#include "integration_span.h"

typedef struct PyWrapper {
    PyObject_HEAD PyObject *func;
    PyObject *tracer;
    PyObject *name, *service, *resource, *span_type;
    PyObject *dict;
    PyObject *weakrefs;
    vectorcallfunc vectorcall;
} PyWrapper;

static PyObject *Wrapper_vectorcall(PyWrapper *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    PyObject *parent = ct_ext_active();
    PySpan *span = NULL;
    if (parent) {
        span =
            ct_ext_span_start((PyTracer *)self->tracer, self->name, self->service, self->resource,
                              self->span_type, parent == Py_None ? NULL : parent, 1);
        Py_DECREF(parent);
    }
    if (!span) {
        /* The tracing failed (no memory): the function still runs, untraced;
         * the user's code never sees our failure. A KeyboardInterrupt that
         * arrived meanwhile is the user's and propagates. */
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
        PyErr_Clear();
        return PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    }
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    if (!result) ct_ext_finish_with_error(span, NULL);
    else if (ct_ext_span_finish(span, 0) < 0) PyErr_Clear(); /* the result is the user's */
    Py_DECREF(span);
    return result;
}

static PyObject *Wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"func", "tracer", "name", "service", "resource", "span_type", NULL};
    PyObject *func, *tracer, *name, *service = Py_None, *resource = Py_None, *span_type = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|OOO", names, &func, &tracer, &name,
                                     &service, &resource, &span_type))
        return NULL;
    if (!PyCallable_Check(func) || !PyObject_TypeCheck(tracer, &PyTracer_Type)) {
        PyErr_SetString(PyExc_TypeError, "FunctionWrapper(func, tracer, name, ...)");
        return NULL;
    }
    PyWrapper *self = (PyWrapper *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    PyObject **slots[] = {&self->func,    &self->tracer,   &self->name,
                          &self->service, &self->resource, &self->span_type};
    PyObject *values[] = {func, tracer, name, service, resource, span_type};
    for (int i = 0; i < 6; i++) {
        Py_INCREF(values[i]);
        *slots[i] = values[i];
    }
    self->vectorcall = (vectorcallfunc)Wrapper_vectorcall;
    return (PyObject *)self;
}

static int Wrapper_traverse(PyWrapper *self, visitproc visit, void *arg)
{
    Py_VISIT(self->func);
    Py_VISIT(self->tracer);
    Py_VISIT(self->name);
    Py_VISIT(self->service);
    Py_VISIT(self->resource);
    Py_VISIT(self->span_type);
    Py_VISIT(self->dict);
    return 0;
}

static int Wrapper_clear(PyWrapper *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->tracer);
    Py_CLEAR(self->name);
    Py_CLEAR(self->service);
    Py_CLEAR(self->resource);
    Py_CLEAR(self->span_type);
    Py_CLEAR(self->dict);
    return 0;
}

static void Wrapper_dealloc(PyWrapper *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs) PyObject_ClearWeakRefs((PyObject *)self);
    Wrapper_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Binds like a function: instance.method gives a bound method. */
static PyObject *Wrapper_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static PyObject *Wrapper_repr(PyWrapper *self)
{
    return PyUnicode_FromFormat("<traced %R>", self->func);
}

static PyGetSetDef Wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL},
};

static PyTypeObject PyWrapper_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.FunctionWrapper",
    .tp_basicsize = sizeof(PyWrapper),
    .tp_dealloc = (destructor)Wrapper_dealloc,
    .tp_vectorcall_offset = offsetof(PyWrapper, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)Wrapper_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function traced by @tracer.wrap().",
    .tp_traverse = (traverseproc)Wrapper_traverse,
    .tp_clear = (inquiry)Wrapper_clear,
    .tp_weaklistoffset = offsetof(PyWrapper, weakrefs),
    .tp_descr_get = Wrapper_get,
    .tp_dictoffset = offsetof(PyWrapper, dict),
    .tp_getset = Wrapper_getset,
    .tp_new = Wrapper_new,
};

int ct_ext_wrap_init(PyObject *module)
{
    if (PyType_Ready(&PyWrapper_Type) < 0) return -1;
    Py_INCREF(&PyWrapper_Type);
    return PyModule_AddObject(module, "FunctionWrapper", (PyObject *)&PyWrapper_Type);
}
