/*
 * integration.c — the integration's service cache and failure reporting
 * shared by the C wrappers. See integration.h.
 */
#include "integration.h"

/* interned names, set on first use (the GIL is held) */
static PyObject *str_service, *str_service_name, *str_user_service, *str_service_mapping;

static int intern_names(void)
{
    if (str_service) return 0;
    str_service_name = PyUnicode_InternFromString("service_name");
    str_user_service = PyUnicode_InternFromString("_user_service");
    str_service_mapping = PyUnicode_InternFromString("service_mapping");
    if (!str_service_name || !str_user_service || !str_service_mapping) return -1;
    str_service = PyUnicode_InternFromString("service");
    return str_service ? 0 : -1;
}

static PyObject *global_dict_of(PyObject *int_config)
{
    PyObject *global = PyObject_GetAttrString(int_config, "global_config");
    PyObject *dict = global ? PyObject_GetAttrString(global, "__dict__") : NULL;
    Py_XDECREF(global);
    if (dict && !PyDict_Check(dict)) {
        Py_CLEAR(dict);
        PyErr_SetString(PyExc_TypeError, "integration config: config has no __dict__");
    }
    return dict;
}

int ct_ext_integration_init(ct_ext_integration *in, PyObject *int_config, PyObject *resolve,
                            PyObject *failed)
{
    if (intern_names() < 0) return -1;
    if (!PyDict_Check(int_config) || !PyCallable_Check(resolve) || !PyCallable_Check(failed)) {
        PyErr_SetString(PyExc_TypeError, "an IntegrationConfig and two callables expected");
        return -1;
    }
    in->int_config = Py_NewRef(int_config);
    in->resolve = Py_NewRef(resolve);
    in->failed = Py_NewRef(failed);
    in->name = PyObject_GetAttrString(int_config, "integration_name");
    in->global_dict = in->name ? global_dict_of(int_config) : NULL;
    return in->global_dict ? 0 : -1;
}

/* The current setting objects (borrowed; None for a missing key) into
 * values[4], and the mapping's size. -1 with an exception. */
static int current_settings(const ct_ext_integration *in, PyObject **values,
                            Py_ssize_t *mapping_size)
{
    PyObject *const sources[4] = {in->int_config, in->int_config, in->global_dict, in->global_dict};
    PyObject *const keys[4] = {str_service, str_service_name, str_user_service,
                               str_service_mapping};
    for (int i = 0; i < 4; i++) {
        PyObject *value = PyDict_GetItemWithError(sources[i], keys[i]);
        if (!value && PyErr_Occurred()) return -1;
        values[i] = value ? value : Py_None;
    }
    *mapping_size = PyDict_Check(values[3]) ? PyDict_GET_SIZE(values[3]) : -1;
    return 0;
}

static int settings_seen(const ct_ext_integration *in, PyObject *const *values,
                         Py_ssize_t mapping_size)
{
    if (!in->mapped || mapping_size != in->seen_mapping_size) return 0;
    for (int i = 0; i < 4; i++)
        if (values[i] != in->seen[i]) return 0;
    return 1;
}

PyObject *ct_ext_pairs_of(PyObject *dict)
{
    if (!dict || dict == Py_None) return PyTuple_New(0);
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "tags must be a dict");
        return NULL;
    }
    PyObject *items = PyDict_Items(dict);
    PyObject *pairs = items ? PySequence_Tuple(items) : NULL;
    Py_XDECREF(items);
    return pairs;
}

/* Asks the resolver for the service under these settings and remembers
 * it. 0, or -1 with an exception (the cache is left as it was). */
static int resolve_service(ct_ext_integration *in, PyObject *const *values, Py_ssize_t mapping_size)
{
    PyObject *resolved = PyObject_CallOneArg(in->resolve, in->int_config);
    if (!resolved) return -1;
    if (!PyTuple_Check(resolved) || PyTuple_GET_SIZE(resolved) != 3) {
        Py_DECREF(resolved);
        PyErr_SetString(PyExc_TypeError, "resolve() must return a 3-tuple");
        return -1;
    }
    PyObject *tags = ct_ext_pairs_of(PyTuple_GET_ITEM(resolved, 2));
    if (!tags) {
        Py_DECREF(resolved);
        return -1;
    }
    Py_XSETREF(in->service_tags, tags);
    Py_XSETREF(in->service, Py_NewRef(PyTuple_GET_ITEM(resolved, 0)));
    Py_XSETREF(in->mapped, Py_NewRef(PyTuple_GET_ITEM(resolved, 1)));
    Py_DECREF(resolved);
    for (int i = 0; i < 4; i++) Py_XSETREF(in->seen[i], Py_NewRef(values[i]));
    in->seen_mapping_size = mapping_size;
    return 0;
}

int ct_ext_integration_service(ct_ext_integration *in)
{
    PyObject *values[4];
    Py_ssize_t mapping_size;
    if (current_settings(in, values, &mapping_size) < 0) return -1;
    if (settings_seen(in, values, mapping_size)) return 0;
    return resolve_service(in, values, mapping_size);
}

int ct_ext_integration_failed(ct_ext_integration *in)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *exc_info = PyTuple_Pack(3, type, value ? value : Py_None, tb ? tb : Py_None);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyObject *result =
        exc_info ? PyObject_CallFunctionObjArgs(in->failed, in->name, exc_info, NULL) : NULL;
    Py_XDECREF(exc_info);
    Py_XDECREF(result);
    if (!result && !PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyErr_Clear();
    return 0;
}

int ct_ext_set_pairs(PySpan *span, PyObject *pairs)
{
    if (!pairs) return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pairs); i++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "tags must be (key, value) pairs");
            return -1;
        }
        if (ct_ext_span_set_tag(span, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)) < 0)
            return -1;
    }
    return 0;
}

/* clang-format off */
#define INTEGRATION_FIELDS(X)                                                   \
    X(int_config) X(global_dict) X(resolve) X(failed) X(name)                   \
    X(seen[0]) X(seen[1]) X(seen[2]) X(seen[3]) X(service) X(mapped) X(service_tags)
/* clang-format on */

int ct_ext_integration_traverse(ct_ext_integration *in, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(in->field);
    INTEGRATION_FIELDS(VISIT)
#undef VISIT
    return 0;
}

void ct_ext_integration_clear(ct_ext_integration *in)
{
#define CLEAR(field) Py_CLEAR(in->field);
    INTEGRATION_FIELDS(CLEAR)
#undef CLEAR
}
