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

#include <stdarg.h>

ct_ext_state ct_ext;

/* -- the active span ---------------------------------------------------------
 *
 * Setting a ContextVar allocates a new HAMT, a node and a Token, and makes
 * the next get miss its cache: two of those per span (activate, then give
 * the parent back) were the largest cost of a span. So the ContextVar
 * holds a mutable cell instead, and a span is activated by storing into
 * the cell. A cell may only be mutated from the contextvars.Context that
 * created it (its owner): a Context copied for a new thread or asyncio task
 * still sees its parent's cell, and its first activation replaces the cell
 * with one of its own, which is exactly ContextVar.set's copy-on-write
 * semantics at one set per context instead of two per span. The cell holds
 * a strong reference to its owner so the owner's address can never be
 * reused by another Context while the cell exists (the cycle owner -> vars
 * -> cell -> owner is collected by the GC).
 */
typedef struct ActiveCell {
    PyObject_HEAD
    PyObject *owner;    /* the contextvars.Context that may mutate the cell */
    PyObject *active;   /* Span, Context, or NULL for none */
} ActiveCell;

static int Cell_traverse(ActiveCell *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    Py_VISIT(self->active);
    return 0;
}

static int Cell_clear(ActiveCell *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->active);
    return 0;
}

static void Cell_dealloc(ActiveCell *self)
{
    PyObject_GC_UnTrack(self);
    Cell_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject ActiveCell_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ddtrace._ctrace._ActiveCell",
    .tp_basicsize = sizeof(ActiveCell),
    .tp_dealloc = (destructor)Cell_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Cell_traverse,
    .tp_clear = (inquiry)Cell_clear,
};

/* The cell of the current context (borrowed; the context keeps it), or
 * NULL with no exception when there is none yet. -1 on error. */
static int current_cell(ActiveCell **cell)
{
    PyObject *value;
    if (PyContextVar_Get(ct_ext.active, NULL, &value) < 0)
        return -1;
    *cell = (ActiveCell *)value;
    Py_XDECREF(value); /* the context's HAMT keeps it alive */
    return 0;
}

PyObject *ct_ext_active(void)
{
    ActiveCell *cell;
    if (current_cell(&cell) < 0)
        return NULL;
    PyObject *active = (cell && cell->active) ? cell->active : Py_None;
    /* ddtrace's active(): a finished span gives way to its first
     * unfinished ancestor. */
    while (Py_IS_TYPE(active, &PySpan_Type) && ((PySpan *)active)->span.finished) {
        PyObject *parent = ((PySpan *)active)->parent;
        active = parent ? parent : Py_None;
    }
    Py_INCREF(active);
    return active;
}

int ct_ext_is_active(PyObject *obj)
{
    ActiveCell *cell;
    if (current_cell(&cell) < 0) {
        PyErr_Clear();
        return 0;
    }
    return cell && cell->active == obj;
}

int ct_ext_activate(PyObject *obj)
{
    ActiveCell *cell;
    if (current_cell(&cell) < 0)
        return -1;
    obj = obj == Py_None ? NULL : obj;
    PyObject *context = PyThreadState_Get()->context; /* made by the get above */
    if (cell && cell->owner == context) {
        Py_XINCREF(obj);
        Py_XSETREF(cell->active, obj);
        return 0;
    }
    ActiveCell *fresh = PyObject_GC_New(ActiveCell, &ActiveCell_Type);
    if (!fresh)
        return -1;
    Py_XINCREF(context);
    Py_XINCREF(obj);
    fresh->owner = context;
    fresh->active = obj;
    PyObject_GC_Track(fresh);
    PyObject *token = PyContextVar_Set(ct_ext.active, (PyObject *)fresh);
    Py_DECREF(fresh);
    if (!token)
        return -1;
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
    if (ct_ext_activate(obj) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *module_active(PyObject *module, PyObject *unused)
{
    return ct_ext_active();
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
    if (ct_ext_activate(Py_None) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"activate", (PyCFunction)module_activate, METH_O, "Make a Span or Context (or None) active."},
    {"active", (PyCFunction)module_active, METH_NOARGS, "The active Span or Context, or None."},
    {"_set_logger", (PyCFunction)module_set_logger, METH_O, "The callable warnings go to."},
    {"_after_fork_child", (PyCFunction)module_after_fork_child, METH_NOARGS, "Reset the active span in a forked child."},
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
    ct_ext.active = PyContextVar_New("datadog_contextvar", NULL);
    if (PyType_Ready(&ActiveCell_Type) < 0)
        return -1;
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
    if (!module)
        return NULL;
    if (init_state() < 0 || ct_ext_span_type_init(module) < 0 ||
        ct_ext_context_type_init(module) < 0 || ct_ext_tracer_type_init(module) < 0 ||
        ct_ext_wrap_init(module) < 0 ||
        PyModule_AddStringConstant(module, "__version__", CTRACE_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
