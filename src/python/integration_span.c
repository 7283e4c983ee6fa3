/*
 * integration_span.c — the pieces the integrations' C wrappers share. See
 * integration_span.h.
 */
#include "integration_span.h"

#include <string.h>

/* the settings of the cache key: the first four in the integration's
 * config, the last two in ddtrace.config's __dict__ */
static PyObject *setting_keys[CT_EXT_SERVICE_SETTINGS];
#define INT_CONFIG_SETTINGS 4

static PyObject *intern(const char *text) { return PyUnicode_InternFromString(text); }

int ct_ext_integration_span_init(void)
{
    static const char *const names[CT_EXT_SERVICE_SETTINGS] = {
        "service",         "service_name",  "_default_service",
        "split_by_domain", "_user_service", "service_mapping"};
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++)
        if (!setting_keys[i] && !(setting_keys[i] = intern(names[i]))) return -1;
    return 0;
}

/* -- the service cache ----------------------------------------------------------------- */

/* The current setting objects (borrowed; None for a missing key) into
 * values, and the mapping's size. -1 with an exception. */
static int current_settings(PyObject *int_config, PyObject *global_dict, PyObject **values,
                            Py_ssize_t *mapping_size)
{
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++) {
        PyObject *source = i < INT_CONFIG_SETTINGS ? int_config : global_dict;
        PyObject *value = PyDict_GetItemWithError(source, setting_keys[i]);
        if (!value && PyErr_Occurred()) return -1;
        values[i] = value ? value : Py_None;
    }
    PyObject *mapping = values[CT_EXT_SERVICE_SETTINGS - 1];
    *mapping_size = PyDict_Check(mapping) ? PyDict_GET_SIZE(mapping) : -1;
    return 0;
}

static int settings_seen(const ct_ext_service_cache *cache, PyObject *const *values,
                         Py_ssize_t mapping_size)
{
    if (!cache->mapped || mapping_size != cache->seen_mapping_size) return 0;
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++)
        if (values[i] != cache->seen[i]) return 0;
    return 1;
}

/* Keeps what the resolver returned, under the settings it resolved. 0, or
 * -1 with an exception (the cache is left as it was). */
static int remember(ct_ext_service_cache *cache, PyObject *resolved, PyObject *const *values,
                    Py_ssize_t mapping_size)
{
    if (!PyTuple_Check(resolved) || PyTuple_GET_SIZE(resolved) != 3) {
        PyErr_SetString(PyExc_TypeError, "resolve() must return a 3-tuple");
        return -1;
    }
    PyObject *tags = ct_ext_tag_pairs(PyTuple_GET_ITEM(resolved, 2));
    if (!tags) return -1;
    Py_XSETREF(cache->tags, tags);
    Py_XSETREF(cache->service, Py_NewRef(PyTuple_GET_ITEM(resolved, 0)));
    Py_XSETREF(cache->mapped, Py_NewRef(PyTuple_GET_ITEM(resolved, 1)));
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++)
        Py_XSETREF(cache->seen[i], Py_NewRef(values[i]));
    cache->seen_mapping_size = mapping_size;
    return 0;
}

static int resolve_service(ct_ext_service_cache *cache, PyObject *int_config, PyObject *resolve,
                           PyObject *const *current, Py_ssize_t mapping_size)
{
    /* held across the resolver: Python code may replace the settings */
    PyObject *values[CT_EXT_SERVICE_SETTINGS];
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++) values[i] = Py_NewRef(current[i]);
    PyObject *resolved = PyObject_CallOneArg(resolve, int_config);
    int rc = resolved ? remember(cache, resolved, values, mapping_size) : -1;
    Py_XDECREF(resolved);
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++) Py_DECREF(values[i]);
    return rc;
}

int ct_ext_service_cache_ensure(ct_ext_service_cache *cache, PyObject *int_config,
                                PyObject *global_dict, PyObject *resolve)
{
    PyObject *values[CT_EXT_SERVICE_SETTINGS];
    Py_ssize_t mapping_size;
    if (current_settings(int_config, global_dict, values, &mapping_size) < 0) return -1;
    if (settings_seen(cache, values, mapping_size)) return 0;
    return resolve_service(cache, int_config, resolve, values, mapping_size);
}

static int service_cache_traverse(ct_ext_service_cache *cache, visitproc visit, void *arg)
{
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++) Py_VISIT(cache->seen[i]);
    Py_VISIT(cache->service);
    Py_VISIT(cache->mapped);
    Py_VISIT(cache->tags);
    return 0;
}

static void service_cache_clear(ct_ext_service_cache *cache)
{
    for (int i = 0; i < CT_EXT_SERVICE_SETTINGS; i++) Py_CLEAR(cache->seen[i]);
    Py_CLEAR(cache->service);
    Py_CLEAR(cache->mapped);
    Py_CLEAR(cache->tags);
}

/* -- the integration ------------------------------------------------------------------- */

static PyObject *global_dict_of(PyObject *int_config)
{
    PyObject *global = PyObject_GetAttrString(int_config, "global_config");
    PyObject *dict = global ? PyObject_GetAttrString(global, "__dict__") : NULL;
    Py_XDECREF(global);
    if (dict && !PyDict_Check(dict)) {
        Py_CLEAR(dict);
        PyErr_SetString(PyExc_TypeError, "the integration's config has no __dict__");
    }
    return dict;
}

int ct_ext_integration_init(ct_ext_integration *it, PyObject *tracer, PyObject *int_config,
                            PyObject *resolve, PyObject *failed)
{
    if (!PyCallable_Check(resolve) || !PyCallable_Check(failed)) {
        PyErr_SetString(PyExc_TypeError, "resolve and failed must be callable");
        return -1;
    }
    it->tracer = (PyTracer *)Py_NewRef(tracer);
    it->int_config = Py_NewRef(int_config);
    it->resolve = Py_NewRef(resolve);
    it->failed = Py_NewRef(failed);
    it->integration = PyObject_GetAttrString(int_config, "integration_name");
    it->global_dict = it->integration ? global_dict_of(int_config) : NULL;
    return it->global_dict ? 0 : -1;
}

int ct_ext_integration_traverse(ct_ext_integration *it, visitproc visit, void *arg)
{
    Py_VISIT(it->tracer);
    Py_VISIT(it->int_config);
    Py_VISIT(it->global_dict);
    Py_VISIT(it->resolve);
    Py_VISIT(it->failed);
    Py_VISIT(it->integration);
    return service_cache_traverse(&it->service, visit, arg);
}

void ct_ext_integration_clear(ct_ext_integration *it)
{
    Py_CLEAR(it->tracer);
    Py_CLEAR(it->int_config);
    Py_CLEAR(it->global_dict);
    Py_CLEAR(it->resolve);
    Py_CLEAR(it->failed);
    Py_CLEAR(it->integration);
    service_cache_clear(&it->service);
}

int ct_ext_integration_enabled(const ct_ext_integration *it)
{
    ct_tracer *core = it->tracer->tracer;
    return core && ct__tracer_enabled(core);
}

int ct_ext_integration_ensure_service(ct_ext_integration *it)
{
    return ct_ext_service_cache_ensure(&it->service, it->int_config, it->global_dict, it->resolve);
}

/* -- tags ------------------------------------------------------------------------------ */

PyObject *ct_ext_tag_pairs(PyObject *dict)
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

int ct_ext_set_tag_pairs(PySpan *span, PyObject *pairs)
{
    if (!pairs) return 0;
    Py_INCREF(pairs); /* a cache's: a value's __str__ may make it resolve again */
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(pairs); i++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "tags must be (key, value) pairs");
            rc = -1;
        } else {
            rc = ct_ext_span_set_tag(span, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1));
        }
    }
    Py_DECREF(pairs);
    return rc;
}

int ct_ext_set_dict_tags(PySpan *span, PyObject *tags)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(tags, &pos, &key, &value))
        if (ct_ext_span_set_tag(span, key, value) < 0) return -1;
    return 0;
}

/* -- the call -------------------------------------------------------------------------- */

int ct_ext_wrapper_args_ok(const char *who, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) == 4 && !kwnames && PyTuple_Check(args[2]) &&
        PyDict_Check(args[3]))
        return 1;
    PyErr_Format(PyExc_TypeError, "%s expects (wrapped, instance, args tuple, kwargs dict)", who);
    return 0;
}

PyObject *ct_ext_call_wrapped(PyObject *wrapped, PyObject *args, PyObject *kwargs)
{
    return PyObject_Call(wrapped, args, PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
}

int ct_ext_report_failure(PyObject *failed, PyObject *integration)
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
        exc_info ? PyObject_CallFunctionObjArgs(failed, integration, exc_info, NULL) : NULL;
    Py_XDECREF(exc_info);
    Py_XDECREF(result);
    if (!result && !PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyErr_Clear();
    return 0;
}

void ct_ext_record_error(PySpan *span)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value) PyException_SetTraceback(value, tb);
    ct_ext_span_record_error(span, type, value, tb);
    PyErr_Restore(type, value, tb);
}

void ct_ext_finish_with_error(PySpan *span, PyObject *ignored)
{
    if (!ignored || !PyErr_ExceptionMatches(ignored)) ct_ext_record_error(span);
    ct_ext_finish_keeping_error(span);
}

void ct_ext_finish_keeping_error(PySpan *span)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (ct_ext_span_finish(span, 0) < 0) PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

/* -- a C method in a class ------------------------------------------------------------ */

PyObject *ct_ext_method_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj || obj == Py_None) return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

PyObject *ct_ext_method_repr(PyObject *self)
{
    const char *type_name = strrchr(Py_TYPE(self)->tp_name, '.');
    PyObject *wrapped = ((ct_ext_method *)self)->wrapped;
    return PyUnicode_FromFormat("<%s tracing %R>",
                                type_name ? type_name + 1 : Py_TYPE(self)->tp_name,
                                wrapped ? wrapped : Py_None);
}

static PyObject *method_get_wrapped(ct_ext_method *self, void *c)
{
    return Py_NewRef(self->wrapped);
}

static PyObject *method_get_of_wrapped(ct_ext_method *self, void *name)
{
    return PyObject_GetAttrString(self->wrapped, (const char *)name);
}

PyGetSetDef ct_ext_method_getset[] = {
    {"__wrapped__", (getter)method_get_wrapped, NULL, "The method replaced.", NULL},
    {"__name__", (getter)method_get_of_wrapped, NULL, NULL, "__name__"},
    {"__qualname__", (getter)method_get_of_wrapped, NULL, NULL, "__qualname__"},
    {"__module__", (getter)method_get_of_wrapped, NULL, NULL, "__module__"},
    {"__doc__", (getter)method_get_of_wrapped, NULL, NULL, "__doc__"},
    {NULL},
};
