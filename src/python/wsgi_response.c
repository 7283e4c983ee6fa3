/*
 * wsgi_response.c — ddtrace._ctrace.WsgiResponse: the app's response
 * iterable, finishing the request's spans when the server is done with
 * it. See wsgi_response.h for what it does and why.
 *
 * The spans finish once (`finished`): on close(), on an exception while
 * iterating, or, for a server that never closes, in tp_finalize. The
 * iterator is taken from the app's iterable on the first __iter__ or
 * __next__, and again on each __iter__, as the Python proxy did.
 */
#include "wsgi_response.h"

#include "integration_span.h"

typedef struct WsgiResponse {
    PyObject_HEAD PyObject *wrapped; /* the app's iterable */
    PyObject *iterator;              /* iter(wrapped), NULL before the first step */
    PySpan *request_span, *response_span;
    PyObject *failed, *integration; /* where the tracing's failures go */
    int finished;
} WsgiResponse;

static PyTypeObject WsgiResponse_Type;
static PyObject *str_close, *str_class, *str_wrapped;

/* Both spans finished, once, the pending exception (if any) kept. 0; -1
 * when finishing raised what must propagate (KeyboardInterrupt). */
static int finish_spans(WsgiResponse *self)
{
    if (self->finished) return 0;
    self->finished = 1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    int rc = 0;
    if ((ct_ext_span_finish(self->response_span, 0) < 0 ||
         ct_ext_span_finish(self->request_span, 0) < 0) &&
        ct_ext_report_failure(self->failed, self->integration) < 0)
        rc = -1;
    if (rc < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return -1;
    }
    PyErr_Restore(type, value, tb);
    return 0;
}

/* The app's iteration raised (not StopIteration): on both spans. */
static void record_exception(WsgiResponse *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value) PyException_SetTraceback(value, tb);
    ct_ext_span_set_exc_info(self->response_span, type, value, tb ? tb : Py_None);
    ct_ext_span_set_exc_info(self->request_span, type, value, tb ? tb : Py_None);
    PyErr_Restore(type, value, tb);
}

static PyObject *WsgiResponse_iter(WsgiResponse *self)
{
    PyObject *iterator = PyObject_GetIter(self->wrapped);
    if (!iterator) return NULL;
    Py_XSETREF(self->iterator, iterator);
    return Py_NewRef(self);
}

static PyObject *WsgiResponse_iternext(WsgiResponse *self)
{
    if (!self->iterator && !(self->iterator = PyObject_GetIter(self->wrapped))) return NULL;
    PyObject *iterator = Py_NewRef(self->iterator); /* the app may iterate us again */
    PyObject *item = Py_TYPE(iterator)->tp_iternext(iterator);
    Py_DECREF(iterator);
    if (item || !PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_StopIteration)) return item;
    record_exception(self);
    finish_spans(self); /* (a KeyboardInterrupt of ours replaces the app's) */
    return NULL;
}

/* close(): the app's close(), then the spans, whatever close() did. */
static PyObject *WsgiResponse_close(WsgiResponse *self, PyObject *unused)
{
    PyObject *method = PyObject_GetAttr(self->wrapped, str_close);
    PyObject *closed = method ? PyObject_CallNoArgs(method) : NULL;
    Py_XDECREF(method);
    if (!method && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        closed = Py_NewRef(Py_None);
    }
    Py_XDECREF(closed);
    if (finish_spans(self) < 0) return NULL;
    return closed ? Py_NewRef(Py_None) : NULL;
}

/* Never closed (a server that forgot): the request still ends. */
static void WsgiResponse_finalize(WsgiResponse *self)
{
    if (self->finished || !self->request_span) return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (finish_spans(self) < 0) PyErr_WriteUnraisable((PyObject *)self);
    PyErr_Restore(type, value, tb);
}

/* Our own attributes, else the app's iterable's; __class__ is the app's
 * iterable's, so isinstance() checks see through us as they did through
 * the wrapt proxy. */
static PyObject *WsgiResponse_getattro(WsgiResponse *self, PyObject *name)
{
    if (PyUnicode_Check(name) && PyUnicode_Compare(name, str_class) == 0)
        return PyObject_GetAttr(self->wrapped, name);
    if (PyUnicode_Check(name) && PyUnicode_Compare(name, str_wrapped) == 0)
        return Py_NewRef(self->wrapped);
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value || !PyErr_ExceptionMatches(PyExc_AttributeError)) return value;
    PyErr_Clear();
    return PyObject_GetAttr(self->wrapped, name);
}

static Py_ssize_t WsgiResponse_length(WsgiResponse *self) { return PyObject_Length(self->wrapped); }

static PyObject *WsgiResponse_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *wrapped, *request_span, *response_span, *failed, *integration;
    if (!PyArg_ParseTuple(args, "OO!O!OO:WsgiResponse", &wrapped, &PySpan_Type, &request_span,
                          &PySpan_Type, &response_span, &failed, &integration))
        return NULL;
    WsgiResponse *self = (WsgiResponse *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->wrapped = Py_NewRef(wrapped);
    self->request_span = (PySpan *)Py_NewRef(request_span);
    self->response_span = (PySpan *)Py_NewRef(response_span);
    self->failed = Py_NewRef(failed);
    self->integration = Py_NewRef(integration);
    return (PyObject *)self;
}

/* clang-format off */
#define RESPONSE_FIELDS(X) X(wrapped) X(iterator) X(request_span) X(response_span) X(failed) X(integration)
/* clang-format on */

static int WsgiResponse_traverse(WsgiResponse *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    RESPONSE_FIELDS(VISIT)
#undef VISIT
    return 0;
}

static int WsgiResponse_clear(WsgiResponse *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    RESPONSE_FIELDS(CLEAR)
#undef CLEAR
    return 0;
}

static void WsgiResponse_dealloc(WsgiResponse *self)
{
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) return; /* resurrected */
    PyObject_GC_UnTrack(self);
    WsgiResponse_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef WsgiResponse_methods[] = {
    {"close", (PyCFunction)WsgiResponse_close, METH_NOARGS,
     "close(): the app's close(), then the response and request spans finish."},
    {NULL},
};

static PySequenceMethods WsgiResponse_sequence = {
    .sq_length = (lenfunc)WsgiResponse_length,
};

static PyTypeObject WsgiResponse_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.WsgiResponse",
    .tp_basicsize = sizeof(WsgiResponse),
    .tp_dealloc = (destructor)WsgiResponse_dealloc,
    .tp_as_sequence = &WsgiResponse_sequence,
    .tp_getattro = (getattrofunc)WsgiResponse_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "WsgiResponse(wrapped, request_span, response_span, failed, integration): the "
              "app's response iterable; closing it finishes the spans.",
    .tp_traverse = (traverseproc)WsgiResponse_traverse,
    .tp_clear = (inquiry)WsgiResponse_clear,
    .tp_iter = (getiterfunc)WsgiResponse_iter,
    .tp_iternext = (iternextfunc)WsgiResponse_iternext,
    .tp_methods = WsgiResponse_methods,
    .tp_finalize = (destructor)WsgiResponse_finalize,
    .tp_new = WsgiResponse_new,
};

int ct_ext_wsgi_response_init(PyObject *module)
{
    str_close = PyUnicode_InternFromString("close");
    str_class = PyUnicode_InternFromString("__class__");
    str_wrapped = PyUnicode_InternFromString("__wrapped__");
    if (!str_close || !str_class || !str_wrapped || PyType_Ready(&WsgiResponse_Type) < 0) return -1;
    Py_INCREF(&WsgiResponse_Type);
    return PyModule_AddObject(module, "WsgiResponse", (PyObject *)&WsgiResponse_Type);
}
