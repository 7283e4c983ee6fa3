/*
 * wsgi_environ.c — _ctrace.wsgi_request_headers(environ, as_sent). See
 * wsgi_environ.h for what it returns and why.
 *
 * An environ key is nearly always ASCII, so its header name is written
 * straight into a new one-byte string: `_` becomes `-`, letters lowered,
 * or (as sent) upper-cased after a character that is not a letter and
 * lowered after one, which is what str.title does to ASCII. Any other key
 * goes through the str methods themselves, so the names never differ
 * from the Python version's.
 */
#include "wsgi_environ.h"

static PyObject *str_content_type, *str_content_length; /* the environ keys */
static PyObject *str_underscore, *str_dash, *str_lower, *str_title;

static int ascii_letter(Py_UCS1 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The header name of the ASCII environ key `key` from byte `skip` on.
 * New reference, NULL with MemoryError. */
static PyObject *ascii_name(PyObject *key, Py_ssize_t skip, int as_sent)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(key) - skip;
    PyObject *name = PyUnicode_New(length, 127);
    if (!name) return NULL;
    const Py_UCS1 *from = PyUnicode_1BYTE_DATA(key) + skip;
    Py_UCS1 *to = PyUnicode_1BYTE_DATA(name);
    int after_letter = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS1 c = from[i] == '_' ? '-' : from[i];
        int upper = as_sent && !after_letter;
        if (upper && c >= 'a' && c <= 'z') c -= 'a' - 'A';
        if (!upper && c >= 'A' && c <= 'Z') c += 'a' - 'A';
        after_letter = ascii_letter(c);
        to[i] = c;
    }
    return name;
}

/* The same for any key, through str.replace and str.lower / str.title.
 * New reference, NULL with an exception. */
static PyObject *unicode_name(PyObject *key, Py_ssize_t skip, int as_sent)
{
    PyObject *rest = PyUnicode_Substring(key, skip, PyUnicode_GET_LENGTH(key));
    PyObject *dashed = rest ? PyUnicode_Replace(rest, str_underscore, str_dash, -1) : NULL;
    Py_XDECREF(rest);
    if (!dashed) return NULL;
    PyObject *name = PyObject_CallMethodNoArgs(dashed, as_sent ? str_title : str_lower);
    Py_DECREF(dashed);
    return name;
}

/* headers[name of key] = value. 0, or -1 with an exception. */
static int add_header(PyObject *headers, PyObject *key, Py_ssize_t skip, PyObject *value,
                      int as_sent)
{
    PyObject *name =
        PyUnicode_IS_ASCII(key) ? ascii_name(key, skip, as_sent) : unicode_name(key, skip, as_sent);
    if (!name) return -1;
    int rc = PyDict_SetItem(headers, name, value);
    Py_DECREF(name);
    return rc;
}

/* Does `key` start with HTTP_? (a str key: no exception) */
static int starts_http(PyObject *key)
{
    if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) < 5) return 0;
    if (PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND)
        return memcmp(PyUnicode_1BYTE_DATA(key), "HTTP_", 5) == 0;
    for (Py_ssize_t i = 0; i < 5; i++)
        if (PyUnicode_READ_CHAR(key, i) != (Py_UCS4) "HTTP_"[i]) return 0;
    return 1;
}

/* CONTENT_TYPE and CONTENT_LENGTH, when set and true (as environ.get()
 * tests them). 0, or -1 with an exception. */
static int add_content_headers(PyObject *headers, PyObject *environ, int as_sent)
{
    PyObject *keys[2] = {str_content_type, str_content_length};
    for (int i = 0; i < 2; i++) {
        PyObject *value = PyDict_GetItemWithError(environ, keys[i]); /* borrowed */
        if (!value) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        Py_INCREF(value); /* (its truth may run code that changes the environ) */
        int true_ = PyObject_IsTrue(value);
        int rc = true_ <= 0 ? true_ : add_header(headers, keys[i], 0, value, as_sent);
        Py_DECREF(value);
        if (rc < 0) return -1;
    }
    return 0;
}

static PyObject *wsgi_request_headers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "wsgi_request_headers(environ: dict, as_sent: bool)");
        return NULL;
    }
    PyObject *environ = args[0];
    int as_sent = PyObject_IsTrue(args[1]);
    if (as_sent < 0) return NULL;
    PyObject *headers = PyDict_New();
    if (!headers) return NULL;
    PyObject *key, *value;
    Py_ssize_t position = 0;
    /* (add_header runs no Python code for an ASCII key, and str methods
     * otherwise: the environ cannot change under PyDict_Next) */
    while (PyDict_Next(environ, &position, &key, &value))
        if (starts_http(key) && add_header(headers, key, 5, value, as_sent) < 0) goto failed;
    if (add_content_headers(headers, environ, as_sent) < 0) goto failed;
    return headers;
failed:
    Py_DECREF(headers);
    return NULL;
}

static PyMethodDef wsgi_environ_methods[] = {
    {"wsgi_request_headers", (PyCFunction)(void (*)(void))wsgi_request_headers, METH_FASTCALL,
     "wsgi_request_headers(environ, as_sent): the request's headers, names lowered or as sent."},
    {NULL},
};

int ct_ext_wsgi_environ_init(PyObject *module)
{
    static const struct {
        PyObject **name;
        const char *text;
    } names[] = {
        {&str_content_type, "CONTENT_TYPE"},
        {&str_content_length, "CONTENT_LENGTH"},
        {&str_underscore, "_"},
        {&str_dash, "-"},
        {&str_lower, "lower"},
        {&str_title, "title"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!(*names[i].name = PyUnicode_InternFromString(names[i].text))) return -1;
    return PyModule_AddFunctions(module, wsgi_environ_methods);
}
