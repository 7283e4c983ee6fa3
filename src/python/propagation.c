/*
 * propagation.c — the header codecs of src/core/propagation.h, for
 * ddtrace/propagation/http.py, plus the one hook propagation needs from
 * the core: deciding a trace's sampling priority before it is injected.
 *
 * Each function takes a str and returns plain Python values (ints, str,
 * dicts) or None for "not a valid header": never an exception for bad
 * input, because header values come from the network. A str that cannot
 * be encoded as UTF-8 (lone surrogates) is simply invalid.
 */
#include "ext.h"

static PyObject *new_ref(PyObject *obj)
{
    Py_INCREF(obj);
    return obj;
}

/* The UTF-8 bytes of a str, or NULL (no exception) when it has none. */
static const char *utf8_of(PyObject *obj, Py_ssize_t *len)
{
    if (!PyUnicode_Check(obj)) return NULL;
    const char *text = PyUnicode_AsUTF8AndSize(obj, len);
    if (!text) PyErr_Clear();
    return text;
}

static PyObject *prop_decimal(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    uint64_t value;
    if (!text || ct__prop_parse_decimal(text, (size_t)len, &value) != CT_OK) Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(value);
}

static PyObject *prop_hex(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    uint64_t high, low;
    if (!text || ct__prop_parse_hex(text, (size_t)len, &high, &low) != CT_OK) Py_RETURN_NONE;
    return ct_ext_u128(high, low);
}

static PyObject *prop_traceparent(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    ct_traceparent tp;
    if (!text || ct__prop_parse_traceparent(text, (size_t)len, &tp) != CT_OK) Py_RETURN_NONE;
    PyObject *trace_id = ct_ext_u128(tp.trace_id_high, tp.trace_id_low);
    if (!trace_id) return NULL;
    return Py_BuildValue("(NKi)", trace_id, (unsigned long long)tp.parent_id, tp.flags);
}

/* _prop_format_traceparent(trace_id_high, trace_id_low, span_id, sampled) */
static PyObject *prop_format_traceparent(PyObject *module, PyObject *args)
{
    unsigned long long high, low, span;
    int sampled;
    if (!PyArg_ParseTuple(args, "KKKp", &high, &low, &span, &sampled)) return NULL;
    char out[56];
    size_t n = ct__prop_format_traceparent(high, low, span, sampled, out);
    return PyUnicode_FromStringAndSize(out, (Py_ssize_t)n);
}

/* Puts a pair into the dict passed as arg; stops (returns 1) on error. */
static int put_pair(void *arg, const char *key, size_t key_len, const char *value, size_t value_len)
{
    PyObject *k = PyUnicode_DecodeUTF8(key, (Py_ssize_t)key_len, "replace");
    PyObject *v = PyUnicode_DecodeUTF8(value, (Py_ssize_t)value_len, "replace");
    int rc = (k && v) ? PyDict_SetItem((PyObject *)arg, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc < 0 ? 1 : 0;
}

static PyObject *prop_datadog_tags(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    PyObject *tags = PyDict_New();
    if (!tags) return NULL;
    int rc = text ? ct__prop_parse_datadog_tags(text, (size_t)len, put_pair, tags) : CT_EINVAL;
    if (rc == 1) {
        Py_DECREF(tags);
        return NULL;
    }
    if (rc != CT_OK) PyDict_Clear(tags);
    const char *error = rc == CT_OK       ? NULL
                        : rc == CT_ENOSPC ? "extract_max_size"
                                          : "decoding_error";
    return Py_BuildValue("(Nz)", tags, error);
}

/* _prop_format_datadog_tags([(k, v), ...], max_len) -> (header or None, error or None) */
static PyObject *prop_format_datadog_tags(PyObject *module, PyObject *args)
{
    PyObject *items;
    Py_ssize_t max_len;
    if (!PyArg_ParseTuple(args, "On", &items, &max_len)) return NULL;
    PyObject *seq = PySequence_Fast(items, "a sequence of pairs");
    if (!seq) return NULL;
    char out[4096];
    size_t out_len = 0;
    out[0] = '\0';
    size_t limit = max_len < 0 ? 0 : (size_t)max_len;
    int rc = CT_OK;
    for (Py_ssize_t i = 0; rc == CT_OK && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t key_len, value_len;
        const char *key = NULL, *value = NULL;
        if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2) {
            key = utf8_of(PyTuple_GET_ITEM(pair, 0), &key_len);
            value = utf8_of(PyTuple_GET_ITEM(pair, 1), &value_len);
        }
        rc = (key && value) ? ct__prop_append_datadog_tag(out, &out_len, sizeof out, limit, key,
                                                          (size_t)key_len, value, (size_t)value_len)
                            : CT_EINVAL;
    }
    Py_DECREF(seq);
    if (rc != CT_OK)
        return Py_BuildValue("(Os)", Py_None,
                             rc == CT_ENOSPC ? "inject_max_size" : "encoding_error");
    if (!out_len) return Py_BuildValue("(OO)", Py_None, Py_None);
    return Py_BuildValue("(s#O)", out, (Py_ssize_t)out_len, Py_None);
}

/* _prop_dd_member(value) -> (priority, origin, parent, {tags}) or None */
static PyObject *prop_dd_member(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    if (!text) Py_RETURN_NONE;
    PyObject *tags = PyDict_New();
    if (!tags) return NULL;
    ct_dd_member member;
    int rc = ct__prop_parse_dd_member(text, (size_t)len, &member, put_pair, tags);
    if (rc == 1) {
        Py_DECREF(tags);
        return NULL;
    }
    if (rc != CT_OK) {
        Py_DECREF(tags);
        Py_RETURN_NONE;
    }
    PyObject *priority = member.has_priority ? PyLong_FromLong(member.priority) : new_ref(Py_None);
    PyObject *origin = new_ref(Py_None), *parent = new_ref(Py_None);
    if (member.origin && member.origin_len) {
        char decoded[CT_PROP_DD_MEMBER_MAX * 4];
        size_t n = member.origin_len < sizeof decoded ? member.origin_len : sizeof decoded;
        for (size_t i = 0; i < n; i++)
            decoded[i] = member.origin[i] == '~' ? '=' : member.origin[i];
        Py_SETREF(origin, PyUnicode_DecodeUTF8(decoded, (Py_ssize_t)n, "replace"));
    }
    if (member.parent)
        Py_SETREF(parent,
                  PyUnicode_DecodeUTF8(member.parent, (Py_ssize_t)member.parent_len, "replace"));
    if (!priority || !origin || !parent) {
        Py_XDECREF(priority);
        Py_XDECREF(origin);
        Py_XDECREF(parent);
        Py_DECREF(tags);
        return NULL;
    }
    return Py_BuildValue("(NNNN)", priority, origin, parent, tags);
}

/* _prop_format_dd_member([(k, v), ...]) -> str; items that would pass the
 * 256-character limit are left out. */
static PyObject *prop_format_dd_member(PyObject *module, PyObject *items)
{
    PyObject *seq = PySequence_Fast(items, "a sequence of pairs");
    if (!seq) return NULL;
    char out[CT_PROP_DD_MEMBER_MAX + 1];
    size_t out_len = 0;
    out[0] = '\0';
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t key_len, value_len;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) continue;
        const char *key = utf8_of(PyTuple_GET_ITEM(pair, 0), &key_len);
        const char *value = utf8_of(PyTuple_GET_ITEM(pair, 1), &value_len);
        if (key && value)
            ct__prop_append_dd_item(out, &out_len, key, (size_t)key_len, value, (size_t)value_len);
    }
    Py_DECREF(seq);
    return PyUnicode_FromStringAndSize(out, (Py_ssize_t)out_len);
}

/* _prop_baggage(value) -> dict, or None when malformed */
static PyObject *prop_baggage(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = utf8_of(arg, &len);
    if (!text) Py_RETURN_NONE;
    char *scratch = PyMem_Malloc((size_t)len + 1);
    PyObject *baggage = PyDict_New();
    if (!scratch || !baggage) {
        PyMem_Free(scratch);
        Py_XDECREF(baggage);
        return PyErr_NoMemory();
    }
    int rc = ct__prop_parse_baggage(text, (size_t)len, scratch, put_pair, baggage);
    PyMem_Free(scratch);
    if (rc == 1) {
        Py_DECREF(baggage);
        return NULL;
    }
    if (rc != CT_OK) {
        Py_DECREF(baggage);
        Py_RETURN_NONE;
    }
    return baggage;
}

/* _decide_sampling(span): the sampler decides for the span's trace now if
 * nobody did, so that what is injected is what will be sent. */
static PyObject *decide_sampling(PyObject *module, PyObject *arg)
{
    if (PyObject_TypeCheck(arg, &PySpan_Type) && ct__span_trace(&((PySpan *)arg)->span))
        ct__trace_decide_sampling(ct__span_trace(&((PySpan *)arg)->span));
    Py_RETURN_NONE;
}

/* _trace_tags(span or context) -> the `_dd.p.*` tags of the local trace
 * behind it (propagated ones and the decision maker), or None when it has
 * no local trace. */
static PyObject *trace_tags(PyObject *module, PyObject *arg)
{
    ct_trace *trace = NULL;
    if (PyObject_TypeCheck(arg, &PySpan_Type)) trace = ct__span_trace(&((PySpan *)arg)->span);
    else if (PyObject_TypeCheck(arg, &PyTraceContext_Type)) trace = ((PyTraceContext *)arg)->trace;
    if (!trace) Py_RETURN_NONE;
    PyObject *tags = PyDict_New();
    const ct_tags *propagated = ct__trace_propagated(trace);
    for (uint32_t i = 0; tags && i < propagated->meta_count; i++) {
        const ct_meta_entry *e = &propagated->meta[i];
        if (put_pair(tags, e->key->data, e->key->len, e->value->data, e->value->len)) {
            Py_CLEAR(tags);
        }
    }
    const char *dm = ct__trace_decision_maker(trace);
    if (tags && dm && put_pair(tags, "_dd.p.dm", 8, dm, strlen(dm))) Py_CLEAR(tags);
    return tags;
}

static PyMethodDef propagation_methods[] = {
    {"_trace_tags", trace_tags, METH_O,
     "The _dd.p.* tags of the local trace behind a Span or Context."},
    {"_prop_decimal", prop_decimal, METH_O, "A decimal uint64 header value, or None."},
    {"_prop_hex", prop_hex, METH_O, "A 1-32 digit hex id, or None."},
    {"_prop_traceparent", prop_traceparent, METH_O, "(trace_id, parent_id, flags) or None."},
    {"_prop_format_traceparent", prop_format_traceparent, METH_VARARGS,
     "A version-00 traceparent."},
    {"_prop_datadog_tags", prop_datadog_tags, METH_O, "(tags, error) of x-datadog-tags."},
    {"_prop_format_datadog_tags", prop_format_datadog_tags, METH_VARARGS, "(header, error)."},
    {"_prop_dd_member", prop_dd_member, METH_O,
     "(priority, origin, p, tags) of tracestate dd=, or None."},
    {"_prop_format_dd_member", prop_format_dd_member, METH_O, "The tracestate dd= value."},
    {"_prop_baggage", prop_baggage, METH_O, "The W3C baggage as a dict, or None when malformed."},
    {"_decide_sampling", decide_sampling, METH_O,
     "Decide the sampling priority of a span's trace now."},
    {NULL},
};

int ct_ext_propagation_init(PyObject *module)
{
    return PyModule_AddFunctions(module, propagation_methods);
}
