/*
 * wsgi_response.c — ddtrace._ctrace.WsgiResponse: the app's response
 * iterable, finishing the request's spans when the server is done with
 * it. See wsgi_response.h for what it does and why.
 *
 * The spans finish once (`finished`): when the iteration ends (exhausted,
 * or an Exception), on close(), or, for a server that never closes, in
 * tp_finalize. The
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

/* Both spans finished, once, the pending exception (if any) kept. */
static void finish_spans(WsgiResponse *self)
{
    if (self->finished || !self->request_span) return;
    self->finished = 1;
    ct_ext_finish_keeping_error(self->response_span);
    ct_ext_finish_keeping_error(self->request_span);
}

/* The app's iterable, or NULL with a ValueError once tp_clear broke a
 * cycle through us (an object of the cycle may still call us). */
static PyObject *wrapped_of(WsgiResponse *self)
{
    if (!self->wrapped) PyErr_SetString(PyExc_ValueError, "WsgiResponse already cleared");
    return self->wrapped;
}

static PyObject *WsgiResponse_iter(WsgiResponse *self)
{
    PyObject *wrapped = wrapped_of(self);
    PyObject *iterator = wrapped ? PyObject_GetIter(wrapped) : NULL;
    if (!iterator) return NULL;
    Py_XSETREF(self->iterator, iterator);
    return Py_NewRef(self);
}

/* The app's next chunk. Exhausted (as ddtrace does) or failed with an
 * Exception, the spans finish; a BaseException (GeneratorExit,
 * KeyboardInterrupt) leaves them to close() or collection. */
static PyObject *WsgiResponse_iternext(WsgiResponse *self)
{
    if (!self->iterator) {
        PyObject *wrapped = wrapped_of(self);
        if (!wrapped || !(self->iterator = PyObject_GetIter(wrapped))) return NULL;
    }
    PyObject *iterator = Py_NewRef(self->iterator); /* the app may iterate us again */
    PyObject *item = Py_TYPE(iterator)->tp_iternext(iterator);
    Py_DECREF(iterator);
    if (item) return item;
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
        /* as ddtrace: on the response span; the request's status stays the app's */
        if (!PyErr_ExceptionMatches(PyExc_StopIteration)) ct_ext_record_error(self->response_span);
    }
    finish_spans(self);
    return NULL;
}

/* close(): the app's close(), then the spans, whatever close() did. */
static PyObject *WsgiResponse_close(WsgiResponse *self, PyObject *unused)
{
    PyObject *wrapped = wrapped_of(self);
    if (!wrapped) return NULL;
    PyObject *method = PyObject_GetAttr(wrapped, str_close);
    PyObject *closed = method ? PyObject_CallNoArgs(method) : NULL;
    Py_XDECREF(method);
    if (!method && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        closed = Py_NewRef(Py_None);
    }
    Py_XDECREF(closed);
    finish_spans(self);
    return closed ? Py_NewRef(Py_None) : NULL;
}

/* Never closed nor drained (a server that forgot): the request still
 * ends. finish_spans keeps any pending exception. */
static void WsgiResponse_finalize(WsgiResponse *self) { finish_spans(self); }

/* Our own attributes, else the app's iterable's; __class__ is the app's
 * iterable's, so isinstance() checks see through us as they did through
 * the wrapt proxy. */
static PyObject *WsgiResponse_getattro(WsgiResponse *self, PyObject *name)
{
    if (!self->wrapped) return PyObject_GenericGetAttr((PyObject *)self, name);
    if (PyUnicode_Check(name) && PyUnicode_Compare(name, str_class) == 0)
        return PyObject_GetAttr(self->wrapped, name);
    if (PyUnicode_Check(name) && PyUnicode_Compare(name, str_wrapped) == 0)
        return Py_NewRef(self->wrapped);
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value || !PyErr_ExceptionMatches(PyExc_AttributeError)) return value;
    PyErr_Clear();
    return PyObject_GetAttr(self->wrapped, name);
}

static Py_ssize_t WsgiResponse_length(WsgiResponse *self)
{
    PyObject *wrapped = wrapped_of(self);
    return wrapped ? PyObject_Length(wrapped) : -1;
}

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

CT_EXT_DEFINE_GC_FIELDS(WsgiResponse, RESPONSE_FIELDS)

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
