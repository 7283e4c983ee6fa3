/*
 * module.c — the `ddtrace._ctrace` module: initialization, the active-span
 * ContextVar, and logging back into Python's `logging`.
 *
 * The active span lives in a contextvars.ContextVar, as in ddtrace's
 * DefaultContextProvider: every thread and every asyncio task sees its own
 * value, and a task created inside a span starts with that span active
 * because asyncio copies the context when it creates the task.
 */
#include "ext.h"
#include "db_cursor.h"
#include "redis_command.h"
#include "asgi.h"
#include "wsgi_response.h"
#include "wsgi_environ.h"
#include "traced_call.h"

#include <stdarg.h>

ct_ext_state ct_ext;

/* -- the active span ---------------------------------------------------------
 *
 * Setting a ContextVar allocates (a new HAMT, a node, a Token), so a span
 * costs one set, not two: finishing a span does not give the ContextVar
 * back to its parent. A finished span left in the ContextVar is skipped by
 * active(), which walks up to the first unfinished ancestor, exactly what
 * ddtrace's provider does with a finished span and what re-activating the
 * parent would have produced. This stays correct for copies of the context
 * (threads, asyncio tasks), which a mutable holder shared by copies could
 * not be: a task created inside span A keeps seeing A however its creator
 * moves on.
 */
PyObject *ct_ext_active(void)
{
    PyObject *active;
    if (PyContextVar_Get(ct_ext.active, Py_None, &active) < 0) return NULL;
    while (Py_IS_TYPE(active, &PySpan_Type) && ct__span_finished(&((PySpan *)active)->span)) {
        PyObject *parent = ((PySpan *)active)->parent;
        Py_DECREF(active);
        active = parent ? parent : Py_None;
        Py_INCREF(active);
    }
    return active;
}

int ct_ext_activate(PyObject *obj)
{
    PyObject *token = PyContextVar_Set(ct_ext.active, obj ? obj : Py_None);
    if (!token) return -1;
    Py_DECREF(token);
    return 0;
}

void ct_ext_warn(const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (ct_ext.log_warning) {
        PyObject *r = PyObject_CallFunction(ct_ext.log_warning, "s", message);
        Py_XDECREF(r);
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

static PyObject *module_activate(PyObject *module, PyObject *obj)
{
    if (obj != Py_None && !PyObject_TypeCheck(obj, &PySpan_Type) &&
        !PyObject_TypeCheck(obj, &PyTraceContext_Type)) {
        PyErr_SetString(PyExc_TypeError, "activate() expects a Span, a Context or None");
        return NULL;
    }
    if (ct_ext_activate(obj) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *module_active(PyObject *module, PyObject *unused) { return ct_ext_active(); }

/* Trace processors ran on a local trace: the ContextVar may still hold its
 * finished spans (finish does not reset it: that would cost a ContextVar
 * set per span; reads skip finished spans instead). Activate what a read
 * would return, so those spans can be freed, as ddtrace frees them. */
static PyObject *module_release_finished_active(PyObject *module, PyObject *unused)
{
    PyObject *current;
    if (PyContextVar_Get(ct_ext.active, Py_None, &current) < 0) return NULL;
    int finished =
        Py_IS_TYPE(current, &PySpan_Type) && ct__span_finished(&((PySpan *)current)->span);
    Py_DECREF(current);
    if (!finished) Py_RETURN_NONE;
    PyObject *active = ct_ext_active();
    int rc = active ? ct_ext_activate(active) : -1;
    Py_XDECREF(active);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *module_set_logger(PyObject *module, PyObject *callable)
{
    Py_INCREF(callable);
    Py_XSETREF(ct_ext.log_warning, callable);
    Py_RETURN_NONE;
}

static PyObject *module_after_fork_child(PyObject *module, PyObject *unused)
{
    /* The parent's spans are not ours to finish or send any more: new spans
     * of the child start new traces (the core drops inherited segments). */
    if (ct_ext_activate(Py_None) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"activate", (PyCFunction)module_activate, METH_O, "Make a Span or Context (or None) active."},
    {"active", (PyCFunction)module_active, METH_NOARGS, "The active Span or Context, or None."},
    {"_release_finished_active", (PyCFunction)module_release_finished_active, METH_NOARGS,
     "Activate the first unfinished ancestor of a finished active span."},
    {"_set_logger", (PyCFunction)module_set_logger, METH_O, "The callable warnings go to."},
    {"_after_fork_child", (PyCFunction)module_after_fork_child, METH_NOARGS,
     "Reset the active span in a forked child."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ddtrace._ctrace",
    .m_doc = "ctrace: the C core of the ddtrace-compatible tracer.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int init_state(void)
{
    /* every call into the core holds the GIL: see counters.h */
    ct__use_single_lock();
    ct_ext.active = PyContextVar_New("datadog_contextvar", Py_None);
    PyObject *traceback = PyImport_ImportModule("traceback");
    if (traceback) {
        ct_ext.format_exception = PyObject_GetAttrString(traceback, "format_exception");
        Py_DECREF(traceback);
    }
    return (ct_ext.active && ct_ext.format_exception) ? 0 : -1;
}

PyMODINIT_FUNC PyInit__ctrace(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (!module) return NULL;
    if (init_state() < 0 || ct_ext_span_type_init(module) < 0 ||
        ct_ext_context_type_init(module) < 0 || ct_ext_tracer_type_init(module) < 0 ||
        ct_ext_wrap_init(module) < 0 || ct_ext_traced_call_init(module) < 0 ||
        ct_ext_redis_command_init(module) < 0 || ct_ext_db_cursor_init(module) < 0 ||
        ct_ext_asgi_init(module) < 0 || ct_ext_wsgi_response_init(module) < 0 ||
        ct_ext_wsgi_environ_init(module) < 0 || ct_ext_propagation_init(module) < 0 ||
        PyModule_AddStringConstant(module, "__version__", CTRACE_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
