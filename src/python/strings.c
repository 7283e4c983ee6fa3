/*
 * strings.c — Python objects to the core's shared strings.
 *
 * Span names, services and tag keys are nearly always the same few str
 * objects (literals, interned by the compiler). A direct-mapped cache keyed
 * by the str object's address turns their conversion into a pointer
 * compare and a reference-count increment. The cache holds a reference to
 * each str it maps, so an address can never be reused by another object
 * while its entry exists. An entry also keeps the kind of tag key its
 * string is (ct_ext_tag_key_kind), so that set_tag's short path knows how
 * to route a cached key without comparing it to the special keys.
 * Anything else (values, computed names) is converted afresh: UTF-8 of the
 * str, with lone surrogates replaced as ddtrace's ensure_text(errors=
 * "replace") does.
 *
 * Exact ints, which set_tag stores as their decimal text (http.status_code
 * above all), are formatted here rather than through str(): that built a
 * Python str per tag and cost more than the rest of set_tag. The values
 * 0..1023 keep their string, made once.
 */
#include "ext.h"

#define CACHE_SIZE 1024

typedef struct cache_entry {
    PyObject *key;    /* strong reference to the str, or NULL */
    ct_string *value; /* one reference */
    int tag_kind;     /* ct_ext_tag_key_kind(value), worked out once */
} cache_entry;

static cache_entry cache[CACHE_SIZE];

static size_t slot_of(PyObject *str)
{
    uintptr_t p = (uintptr_t)str;
    return (size_t)((p >> 4) ^ (p >> 14)) & (CACHE_SIZE - 1);
}

/* UTF-8 of a str; a str with lone surrogates is re-encoded with
 * replacement characters. NULL when out of memory (exception cleared). */
static ct_string *convert(PyObject *str)
{
    Py_ssize_t len;
    const char *utf8 = PyUnicode_AsUTF8AndSize(str, &len);
    if (utf8) return ct__string_new(utf8, (size_t)len);
    PyErr_Clear();
    PyObject *bytes = PyUnicode_AsEncodedString(str, "utf-8", "replace");
    if (!bytes) {
        PyErr_Clear();
        return NULL;
    }
    ct_string *s = ct__string_new(PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return s;
}

/* The string of an exact str that entry, its slot, does not hold: made
 * and cached there. Out of line, so that a hit saves no registers for it. */
__attribute__((noinline)) static ct_string *cache_miss(cache_entry *entry, PyObject *str)
{
    ct_string *s = convert(str);
    if (!s || PyUnicode_GET_LENGTH(str) > 256)
        return s; /* big strings are values, not worth keeping */
    PyObject *old_key = entry->key;
    ct_string *old_value = entry->value;
    Py_INCREF(str);
    entry->key = str;
    entry->value = ct__string_ref(s);
    entry->tag_kind = ct_ext_tag_key_kind(s);
    Py_XDECREF(old_key);
    ct__string_unref(old_value);
    return s;
}

ct_string *ct_ext_string(PyObject *str)
{
    if (!PyUnicode_CheckExact(str)) {
        if (!PyUnicode_Check(str)) return NULL;
        return convert(str);
    }
    cache_entry *entry = &cache[slot_of(str)];
    if (entry->key == str) return ct__string_ref(entry->value);
    return cache_miss(entry, str);
}

ct_string *ct_ext_cached_string(PyObject *str, int *tag_kind)
{
    cache_entry *entry = &cache[slot_of(str)];
    if (entry->key != str) return NULL; /* only an exact str is ever cached */
    *tag_kind = entry->tag_kind;
    return entry->value;
}

#define SMALL_INTS 1024

static ct_string *small_ints[SMALL_INTS];

ct_string *ct_ext_int_text(long long v)
{
    int small = v >= 0 && v < SMALL_INTS;
    if (small && small_ints[v]) return ct__string_ref(small_ints[v]);
    char digits[24];
    size_t n = sizeof digits;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) digits[--n] = '-';
    ct_string *s = ct__string_new(digits + n, sizeof digits - n);
    if (s && small) small_ints[v] = ct__string_ref(s);
    return s;
}

ct_string *ct_ext_string_of(PyObject *value)
{
    if (PyUnicode_Check(value)) return ct_ext_string(value);
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred())) return ct_ext_int_text(v);
        PyErr_Clear(); /* huge: str() below */
    }
    PyObject *str = PyObject_Str(value);
    if (!str) {
        ct_ext_swallow_error();
        return NULL;
    }
    ct_string *s = convert(str);
    Py_DECREF(str);
    return s;
}

int ct_ext_swallow_error(void)
{
    if (PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

PyObject *ct_ext_to_str(const ct_string *s)
{
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s->data, (Py_ssize_t)s->len, "replace");
}

void ct_ext_string_cache_clear(void)
{
    for (size_t i = 0; i < SMALL_INTS; i++) {
        ct__string_unref(small_ints[i]);
        small_ints[i] = NULL;
    }
    for (size_t i = 0; i < CACHE_SIZE; i++) {
        Py_CLEAR(cache[i].key);
        ct__string_unref(cache[i].value);
        cache[i].value = NULL;
    }
}
