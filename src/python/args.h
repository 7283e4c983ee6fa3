/*
 * args.h — argument parsing for METH_FASTCALL | METH_KEYWORDS methods.
 *
 * PyArg_ParseTupleAndKeywords costs more than a whole span on the hot path,
 * so tracer.trace() and friends parse their few optional arguments with
 * this: positional first, then keywords matched by identity (interned
 * names) and then by value. Borrowed references; missing ones stay NULL.
 */
#ifndef CT_ARGS_H
#define CT_ARGS_H

#include "ext.h"

/* Fills out[0..count) from args/kwnames by the given names. Returns 0, or
 * -1 with TypeError set for an unknown keyword, a duplicate or too many
 * positional arguments. */
static inline int ct_parse_args(const char *function, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames, const char *const *names, PyObject **out,
                                int count)
{
    if (nargs > count) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", function,
                     count, nargs);
        return -1;
    }
    for (int i = 0; i < count; i++) out[i] = i < nargs ? args[i] : NULL;
    if (!kwnames) return 0;
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int i = 0;
        for (; i < count; i++)
            if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) break;
        if (i == count) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", function,
                         key);
            return -1;
        }
        if (out[i]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", function,
                         names[i]);
            return -1;
        }
        out[i] = args[nargs + k];
    }
    return 0;
}

/* None and missing are the same for optional arguments. */
static inline PyObject *ct_arg_or_null(PyObject *arg) { return arg == Py_None ? NULL : arg; }

#endif
