/*
 * asgi.c — ddtrace._ctrace.AsgiMiddleware: an ASGI request in a span,
 * without a Python frame on the common path. See asgi.h for what it does
 * and why.
 *
 * Three types:
 * - AsgiMiddleware, the ASGI app: (scope, receive, send) returns an Await
 *   for an HTTP scope, the app's own awaitable for any other;
 * - Request, one HTTP request: its scope, its span, and, as a callable,
 *   the `send` the app is given;
 * - Await, the awaitable (an iterator with send/throw/close, so that
 *   `await`, asyncio's tasks and collections.abc.Coroutine accept it).
 *   Of a request, it starts the span on its first step, as the coroutine
 *   of an `async def` would, drives the app's awaitable and ends the span
 *   when that returns or raises; of a last body message, it drives the
 *   server's `send` and finishes the span once the message is out.
 *
 * A request's span ends once: on its last body message (unless the
 * status was an error: the exception that follows carries the
 * traceback), else when the app returns, raises or is closed. The span
 * stays in scope["datadog"]["request_spans"] while the app runs, for the
 * router to name it (contrib/starlette).
 */
#include "asgi.h"

#include "integration_span.h"

/* -- interned strings ---------------------------------------------------------------- */

/* clang-format off */
#define ASGI_STRINGS(X)                                                                   \
    X(type, "type") X(http, "http") X(method, "method") X(path, "path")                   \
    X(scheme, "scheme") X(query_string, "query_string") X(headers, "headers")             \
    X(server, "server") X(http_version, "http_version") X(asgi, "asgi")                   \
    X(version, "version") X(spec_version, "spec_version") X(datadog, "datadog")           \
    X(request_spans, "request_spans") X(resolver, "route_resource_resolver")              \
    X(resource_paths, "resource_paths") X(status, "status") X(more_body, "more_body")     \
    X(response_start, "http.response.start") X(response_body, "http.response.body")       \
    X(span_name_key, "request_span_name") X(default_name, "asgi.request") X(web, "web")   \
    X(obfuscate_404, "obfuscate_404_resource") X(tag_method, "http.method")               \
    X(tag_url, "http.url") X(tag_agent, "http.useragent")                                 \
    X(tag_query, "http.query.string") X(tag_status, "http.status_code")                   \
    X(tag_version, "http.version") X(tag_asgi_version, "asgi.version")                    \
    X(tag_asgi_spec, "asgi.spec_version") X(tag_kind, "span.kind") X(kind_server, "server") \
    X(svc_src, "_dd.svc_src") X(status_500, "500") X(service, "service")                  \
    X(resource, "resource") X(header_tags, "_header_tags") X(global_http, "_http")        \
    X(trace_query_string, "trace_query_string") X(http_server, "_http_server")            \
    X(error_ranges, "_error_ranges") X(is_error_code, "is_error_code")                    \
    X(request, "request") X(throw_, "throw") X(close_, "close") X(value, "value")         \
    X(empty, "") X(default_scheme, "http") X(ignore, "ignore")                            \
    X(c_request_headers, "_c_request_headers") X(c_store_headers, "_c_store_headers")     \
    X(c_response_headers, "_c_response_headers") X(c_response_start, "_c_response_start") \
    X(c_url_tag, "_c_url_tag") X(c_set_service, "_c_set_service")                        \
    X(propagation_keys, "_PROPAGATION_KEYS")
/* clang-format on */

static struct {
#define FIELD(name, text) PyObject *name;
    ASGI_STRINGS(FIELD)
#undef FIELD
} S;

/* {"http": 80, "https": 443, "ws": 80, "wss": 443}: a port left out of the URL */
static PyObject *default_ports;

/* -- the types' layouts -------------------------------------------------------------- */

typedef struct Middleware {
    PyObject_HEAD PyObject *app;
    PyTracer *tracer;
    ct_ext_integration in;
    PyObject *helpers;          /* the module of the _c_* slow paths */
    PyObject *handle_exception; /* callable(exc, span), or NULL: http.status_code 500 */
    PyObject *span_modifier;    /* callable(span, scope), or NULL */
    PyObject *route_resolver;   /* put in scope["datadog"] for the router, or NULL */
    PyObject *propagation_keys; /* tuple of bytes: the header names of every style */
    vectorcallfunc vectorcall;
} Middleware;

/* The tracing's own failure: an Exception is reported and cleared (0),
 * anything else stays set (-1); see integration_span.h. */
static int report_failure(Middleware *mw)
{
    return ct_ext_report_failure(mw->in.failed, mw->in.integration);
}

typedef struct Request {
    PyObject_HEAD Middleware *mw;
    PyObject *scope, *receive, *send;
    PySpan *span;      /* NULL while untraced */
    PyObject *service; /* the integration's service when the span started */
    PyObject *raised;  /* borrowed, while record_exception runs: the app's exception */
    vectorcallfunc vectorcall;
} Request;

enum { AWAIT_REQUEST, AWAIT_SEND };
enum { AWAIT_NEW, AWAIT_RUNNING, AWAIT_DONE };

typedef struct Await {
    PyObject_HEAD Request *request;
    PyObject *inner; /* the iterator driven: the app's or send's awaitable */
    uint8_t kind, state;
} Await;

static PyTypeObject Middleware_Type, Request_Type, Await_Type;

/* -- small helpers ------------------------------------------------------------------- */

static int is_str(PyObject *obj, PyObject *interned)
{
    return obj == interned ||
           (obj && PyUnicode_Check(obj) && PyUnicode_Compare(obj, interned) == 0);
}

/* mapping.get(key): a new reference, or NULL (an exception set or not). */
static PyObject *get_item(PyObject *mapping, PyObject *key)
{
    if (PyDict_Check(mapping)) return Py_XNewRef(PyDict_GetItemWithError(mapping, key));
    PyObject *value = PyObject_GetItem(mapping, key);
    if (!value && PyErr_ExceptionMatches(PyExc_KeyError)) PyErr_Clear();
    return value;
}

/* helpers.<name>(*args): a new reference, or NULL with an exception. */
static PyObject *call_helper(Middleware *mw, PyObject *name, PyObject *const *args, size_t n)
{
    PyObject *func = PyObject_GetAttr(mw->helpers, name);
    PyObject *result = func ? PyObject_Vectorcall(func, args, n, NULL) : NULL;
    Py_XDECREF(func);
    return result;
}

static PyObject *none_to_null(PyObject *obj) { return obj == Py_None ? NULL : Py_XNewRef(obj); }

/* ASGI header bytes as text, as contrib/asgi/utils.bytes_to_str. */
static PyObject *bytes_to_str(PyObject *value)
{
    if (!PyBytes_Check(value)) return Py_NewRef(value);
    return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), "ignore");
}

/* obj.<first>[.<second>], truth of it: 1, 0, or -1 with an exception. */
static int attr_truth(PyObject *obj, PyObject *first, PyObject *second)
{
    PyObject *outer = PyObject_GetAttr(obj, first);
    PyObject *inner = outer && second ? PyObject_GetAttr(outer, second) : Py_XNewRef(outer);
    Py_XDECREF(outer);
    int truth = inner ? PyObject_IsTrue(inner) : -1;
    Py_XDECREF(inner);
    return truth;
}

/* -- settings read per request --------------------------------------------------------- */

/* config._http.<name>, truth of it (the settings of every integration). */
static int global_http_truth(Middleware *mw, PyObject *name)
{
    PyObject *global_http = PyDict_GetItemWithError(mw->in.global_dict, S.global_http);
    if (!global_http) return PyErr_Occurred() ? -1 : 0;
    return attr_truth(global_http, name, NULL);
}

/* IntegrationConfig.is_header_tracing_configured, without its frame. */
static int header_tags_configured(Middleware *mw)
{
    int own = attr_truth(mw->in.int_config, S.http, S.header_tags);
    return own != 0 ? own : global_http_truth(mw, S.header_tags);
}

/* IntegrationConfig.trace_query_string: the integration's, else global. */
static int trace_query_string(Middleware *mw)
{
    PyObject *http = PyObject_GetAttr(mw->in.int_config, S.http);
    PyObject *own = http ? PyObject_GetAttr(http, S.trace_query_string) : NULL;
    Py_XDECREF(http);
    int truth = !own             ? -1
                : own == Py_None ? global_http_truth(mw, S.trace_query_string)
                                 : PyObject_IsTrue(own);
    Py_XDECREF(own);
    return truth;
}

/* config.http_server.is_error_code(code), reading its ranges directly. */
static int is_error_code(Middleware *mw, long code)
{
    PyObject *server = PyDict_GetItemWithError(mw->in.global_dict, S.http_server);
    if (!server) return PyErr_Occurred() ? -1 : 0;
    PyObject *ranges = PyObject_GetAttr(server, S.error_ranges);
    if (!ranges) return -1;
    int found = 0, odd = !PyList_Check(ranges);
    for (Py_ssize_t i = 0; !odd && !found && i < PyList_GET_SIZE(ranges); i++) {
        PyObject *pair = PyList_GET_ITEM(ranges, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 0)) ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 1))) {
            odd = 1;
            break;
        }
        long low = PyLong_AsLong(PyTuple_GET_ITEM(pair, 0));
        long high = PyLong_AsLong(PyTuple_GET_ITEM(pair, 1));
        if (PyErr_Occurred()) {
            PyErr_Clear();
            odd = 1;
            break;
        }
        found = low <= code && code <= high;
    }
    Py_DECREF(ranges);
    if (!odd) return found;
    /* not the list of int pairs _HTTPServerConfig keeps: ask it */
    PyObject *number = PyLong_FromLong(code);
    PyObject *result = number ? PyObject_CallMethodOneArg(server, S.is_error_code, number) : NULL;
    Py_XDECREF(number);
    int truth = result ? PyObject_IsTrue(result) : -1;
    Py_XDECREF(result);
    return truth;
}

/* -- the request headers --------------------------------------------------------------- */

/* What the request span needs of the headers. host and agent are borrowed
 * bytes; slow: read them with the Python helper instead (a propagation
 * header, header tags, a header that is not a pair of ASCII-named bytes,
 * a user agent under another spelling). */
typedef struct headers_seen {
    PyObject *host, *agent, *http_agent;
    int slow;
} headers_seen;

static int ascii_bytes(const char *data, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < len; i++)
        if ((unsigned char)data[i] >= 0x80) return 0;
    return 1;
}

/* name.lower().replace("_", "-") == pattern (pattern: lower case). */
static int loosely_named(const char *name, const char *pattern, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < len; i++) {
        char c = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
        if ((c == '_' ? '-' : c) != pattern[i]) return 0;
    }
    return 1;
}

static int named(const char *name, Py_ssize_t len, const char *text, Py_ssize_t text_len)
{
    return len == text_len && memcmp(name, text, (size_t)len) == 0;
}

static int is_propagation_key(Middleware *mw, const char *name, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mw->propagation_keys); i++) {
        PyObject *key = PyTuple_GET_ITEM(mw->propagation_keys, i);
        if (named(name, len, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))) return 1;
    }
    return 0;
}

/* One (name, value) pair; the last of a name wins, as in a dict. */
static void see_header(Middleware *mw, PyObject *item, headers_seen *seen, int *loose_agent)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 ||
        !PyBytes_Check(PyTuple_GET_ITEM(item, 0)) || !PyBytes_Check(PyTuple_GET_ITEM(item, 1))) {
        seen->slow = 1;
        return;
    }
    PyObject *value = PyTuple_GET_ITEM(item, 1);
    const char *name = PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 0));
    Py_ssize_t len = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0));
    if (!ascii_bytes(name, len) || is_propagation_key(mw, name, len)) seen->slow = 1;
    else if (named(name, len, "host", 4)) seen->host = value;
    else if (named(name, len, "user-agent", 10)) seen->agent = value;
    else if (named(name, len, "http-user-agent", 15)) seen->http_agent = value;
    else if ((len == 10 && loosely_named(name, "user-agent", 10)) ||
             (len == 15 && loosely_named(name, "http-user-agent", 15)))
        *loose_agent = 1;
}

static void scan_headers(Middleware *mw, PyObject *headers, headers_seen *seen)
{
    int loose_agent = 0;
    if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
        seen->slow = 1;
        return;
    }
    PyObject *items = PySequence_Fast(headers, "headers");
    if (!items) { /* (cannot fail for a list or a tuple) */
        PyErr_Clear();
        seen->slow = 1;
        return;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items) && !seen->slow; i++)
        see_header(mw, PySequence_Fast_GET_ITEM(items, i), seen, &loose_agent);
    Py_DECREF(items);
    /* a user agent found only under another spelling: the helper's scan */
    if (loose_agent && !seen->agent && !seen->http_agent) seen->slow = 1;
}

/* _get_request_header_user_agent of what scan_headers saw: a new str,
 * possibly empty, or NULL with an exception. */
static PyObject *user_agent(const headers_seen *seen)
{
    PyObject *const candidates[2] = {seen->agent, seen->http_agent};
    for (int i = 0; i < 2; i++) {
        if (!candidates[i]) continue;
        PyObject *text = bytes_to_str(candidates[i]);
        if (!text || PyUnicode_GET_LENGTH(text)) return text;
        Py_DECREF(text);
    }
    return Py_NewRef(S.empty);
}

/* The request's headers as the span needs them: *host and *agent (new
 * references, None or "" for none) and, from the slow path, *headers (the
 * str dict, NULL when not read). 0, or -1 with an exception. */
typedef struct request_headers {
    PyObject *headers, *host, *agent;
} request_headers;

static int read_headers(Request *r, int activate, int header_tags, request_headers *out)
{
    Middleware *mw = r->mw;
    headers_seen seen = {NULL, NULL, NULL, header_tags};
    PyObject *headers = get_item(r->scope, S.headers);
    if (!headers && PyErr_Occurred()) return -1;
    int truth = headers ? PyObject_IsTrue(headers) : 0;
    if (truth > 0 && !seen.slow) scan_headers(mw, headers, &seen);
    Py_XDECREF(headers);
    if (truth < 0) return -1;
    if (!truth) seen.slow = 0; /* no headers: nothing to read, nothing to extract */
    if (!seen.slow) {
        out->host = seen.host ? bytes_to_str(seen.host) : Py_NewRef(Py_None);
        out->agent = out->host ? user_agent(&seen) : NULL;
        return out->agent ? 0 : -1;
    }
    PyObject *args[3] = {mw->in.int_config, r->scope, activate ? Py_True : Py_False};
    PyObject *found = call_helper(mw, S.c_request_headers, args, 3);
    if (!found) return -1;
    if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3) {
        Py_DECREF(found);
        PyErr_SetString(PyExc_TypeError, "_c_request_headers must return a 3-tuple");
        return -1;
    }
    out->headers = Py_NewRef(PyTuple_GET_ITEM(found, 0));
    out->host = Py_NewRef(PyTuple_GET_ITEM(found, 1));
    out->agent = Py_NewRef(PyTuple_GET_ITEM(found, 2));
    Py_DECREF(found);
    return 0;
}

static void request_headers_clear(request_headers *h)
{
    Py_CLEAR(h->headers);
    Py_CLEAR(h->host);
    Py_CLEAR(h->agent);
}

/* -- the URL ------------------------------------------------------------------------- */

/* "scheme://netloc" from the server address, the scheme's port left out. */
static PyObject *server_netloc(PyObject *scheme, PyObject *server)
{
    PyObject *address = PySequence_GetItem(server, 0);
    PyObject *port = address ? PySequence_GetItem(server, 1) : NULL;
    if (!port) {
        Py_XDECREF(address);
        return NULL;
    }
    PyObject *usual = PyDict_GetItemWithError(default_ports, scheme); /* scheme: hashable */
    int same = port == Py_None;
    if (!same && usual) same = PyObject_RichCompareBool(port, usual, Py_EQ);
    PyObject *url = same < 0 || PyErr_Occurred() ? NULL
                    : same                       ? PyUnicode_FromFormat("%S://%S", scheme, address)
                           : PyUnicode_FromFormat("%S://%S:%S", scheme, address, port);
    Py_DECREF(address);
    Py_DECREF(port);
    return url;
}

/* scheme://host/path from the Host header, else from the server address;
 * None without either. The query string is the helper's (_c_url_tag). */
static PyObject *request_url(PyObject *scope, PyObject *scheme, PyObject *path, PyObject *host)
{
    int has_host = PyObject_IsTrue(host);
    if (has_host < 0) return NULL;
    if (has_host) return PyUnicode_FromFormat("%S://%S%S", scheme, host, path);
    PyObject *server = get_item(scope, S.server);
    if (!server) return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    int usable = PyObject_IsTrue(server);
    Py_ssize_t size = usable > 0 ? PyObject_Length(server) : 0;
    PyObject *url = NULL;
    if (usable < 0 || size < 0) url = NULL;
    else if (!usable || size != 2) url = Py_NewRef(Py_None);
    else {
        PyObject *netloc = server_netloc(scheme, server);
        url = netloc ? PyUnicode_FromFormat("%U%S", netloc, path) : NULL;
        Py_XDECREF(netloc);
    }
    Py_DECREF(server);
    return url;
}

/* http.url and http.query.string. A URL with a query string, or with a
 * `?` or `@` that obfuscation or credential removal would change, goes
 * to the helper; any other is tagged as it is. */
static int tag_url(Request *r, PyObject *path, PyObject *host)
{
    PyObject *scheme = get_item(r->scope, S.scheme);
    if (!scheme && PyErr_Occurred()) return -1;
    if (!scheme) scheme = Py_NewRef(S.default_scheme);
    PyObject *url = request_url(r->scope, scheme, path, host);
    Py_DECREF(scheme);
    if (!url) return -1;
    PyObject *raw_query = get_item(r->scope, S.query_string);
    int rc = raw_query || !PyErr_Occurred() ? 0 : -1;
    int has_query = raw_query ? PyObject_IsTrue(raw_query) : 0;
    PyObject *query = NULL; /* decoded, None when empty or not tagged */
    if (rc == 0 && has_query > 0) {
        PyObject *text = bytes_to_str(raw_query);
        int traced = text ? trace_query_string(r->mw) : -1;
        int nonempty = traced >= 0 ? PyObject_IsTrue(text) : -1;
        if (nonempty < 0) rc = -1;
        else query = Py_NewRef(traced && nonempty ? text : Py_None);
        Py_XDECREF(text);
        if (rc == 0 && query != Py_None) rc = ct_ext_span_set_tag(r->span, S.tag_query, query);
    }
    if (has_query < 0) rc = -1;
    if (rc == 0 && url != Py_None) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(url);
        int plain = !has_query && PyUnicode_FindChar(url, '?', 0, len, 1) == -1 &&
                    PyUnicode_FindChar(url, '@', 0, len, 1) == -1;
        if (plain) {
            rc = ct_ext_span_set_tag(r->span, S.tag_url, url);
        } else {
            PyObject *args[4] = {r->mw->in.int_config, url, raw_query ? raw_query : Py_None,
                                 query ? query : Py_None};
            PyObject *tag = call_helper(r->mw, S.c_url_tag, args, 4);
            rc = tag ? ct_ext_span_set_tag(r->span, S.tag_url, tag) : -1;
            Py_XDECREF(tag);
        }
    }
    Py_XDECREF(query);
    Py_XDECREF(raw_query);
    Py_DECREF(url);
    return rc;
}

/* -- the request span ------------------------------------------------------------------- */

/* http.version, asgi.version, asgi.spec_version of the scope. */
static int tag_versions(Request *r)
{
    PyObject *version = get_item(r->scope, S.http_version);
    int truth = version ? PyObject_IsTrue(version) : 0;
    int rc = truth > 0 ? ct_ext_span_set_tag(r->span, S.tag_version, version) : truth;
    Py_XDECREF(version);
    if (rc < 0 || PyErr_Occurred()) return -1;
    PyObject *versions = get_item(r->scope, S.asgi);
    if (!versions) return PyErr_Occurred() ? -1 : 0;
    PyObject *const keys[2] = {S.version, S.spec_version};
    PyObject *const tags[2] = {S.tag_asgi_version, S.tag_asgi_spec};
    for (int i = 0; i < 2 && rc == 0 && PyObject_IsTrue(versions) > 0; i++) {
        PyObject *value = get_item(versions, keys[i]);
        if (value) rc = ct_ext_span_set_tag(r->span, tags[i], value);
        else if (PyErr_Occurred()) rc = -1;
        Py_XDECREF(value);
    }
    Py_DECREF(versions);
    return rc < 0 || PyErr_Occurred() ? -1 : 0;
}

/* The service the integration maps to, and where the name came from. */
static int tag_service(Request *r)
{
    ct_ext_integration *in = &r->mw->in;
    if (ct_ext_set_tag_pairs(r->span, in->service.tags) < 0) return -1;
    int mapped = PyObject_IsTrue(in->service.mapped);
    if (mapped <= 0) return mapped;
    return PyObject_SetAttr((PyObject *)r->span, S.service, in->service.mapped);
}

/* _tag_request: what the span says of the request. */
static int tag_request(Request *r, PyObject *method, PyObject *path, request_headers *h,
                       int header_tags)
{
    Middleware *mw = r->mw;
    if (tag_versions(r) < 0 || tag_service(r) < 0 ||
        ct_ext_span_set_tag(r->span, S.tag_kind, S.kind_server) < 0)
        return -1;
    if (mw->span_modifier) {
        PyObject *args[2] = {(PyObject *)r->span, r->scope};
        PyObject *result = PyObject_Vectorcall(mw->span_modifier, args, 2, NULL);
        Py_XDECREF(result);
        if (!result) return -1;
    }
    if (ct_ext_span_set_tag(r->span, S.tag_method, method) < 0 || tag_url(r, path, h->host) < 0)
        return -1;
    int agent = PyObject_IsTrue(h->agent);
    if (agent < 0 || (agent && ct_ext_span_set_tag(r->span, S.tag_agent, h->agent) < 0)) return -1;
    if (!header_tags || !h->headers || PyObject_IsTrue(h->headers) <= 0)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *args[4] = {(PyObject *)r->span, mw->in.int_config, h->headers, S.request};
    PyObject *result = call_helper(mw, S.c_store_headers, args, 4);
    Py_XDECREF(result);
    return result ? 0 : -1;
}

/* scope.setdefault("datadog", {"request_spans": []}): the span joins the
 * request's spans, and the router learns how to name it. */
static int register_span(Request *r)
{
    PyObject *fresh = PyDict_New();
    PyObject *spans = fresh ? PyList_New(0) : NULL;
    if (!spans || PyDict_SetItem(fresh, S.request_spans, spans) < 0) {
        Py_XDECREF(fresh);
        Py_XDECREF(spans);
        return -1;
    }
    Py_DECREF(spans);
    PyObject *datadog = PyDict_SetDefault(r->scope, S.datadog, fresh); /* borrowed */
    Py_DECREF(fresh);
    if (!datadog) return -1;
    PyObject *list = PyObject_GetItem(datadog, S.request_spans);
    int rc = list && PyList_Check(list) ? PyList_Append(list, (PyObject *)r->span) : -1;
    if (list && !PyList_Check(list)) PyErr_SetString(PyExc_TypeError, "request_spans: a list");
    Py_XDECREF(list);
    if (rc == 0 && r->mw->route_resolver && PyDict_Check(datadog))
        rc = PyDict_SetItem(datadog, S.resolver, r->mw->route_resolver);
    return rc;
}

/* The active span of the request, registered (new reference), or NULL:
 * with an exception set if it must propagate, none if the request goes on
 * untraced. */
static PySpan *open_span(Request *r, PyObject *method, PyObject *path)
{
    ct_ext_integration *in = &r->mw->in;
    PyObject *name = PyDict_GetItemWithError(in->int_config, S.span_name_key);
    PyObject *resource =
        name || !PyErr_Occurred() ? PyUnicode_FromFormat("%S %S", method, path) : NULL;
    PyObject *parent = resource ? ct_ext_active() : NULL;
    PySpan *span =
        parent ? ct_ext_span_start(r->mw->tracer, name ? name : S.default_name, in->service.service,
                                   resource, S.web, parent == Py_None ? NULL : parent, 1)
               : NULL;
    Py_XDECREF(parent);
    Py_XDECREF(resource);
    return span;
}

/* _start: 1 with r->span started, tagged (as far as tagging went) and
 * active; 0 when the request goes on untraced (the failure reported); -1
 * with an exception that must propagate. */
static int start_request(Request *r)
{
    Middleware *mw = r->mw;
    request_headers h = {NULL, NULL, NULL};
    PyObject *method = NULL, *path = NULL;
    int is_subapp = PyDict_Contains(r->scope, S.datadog);
    int header_tags = is_subapp < 0 ? -1 : header_tags_configured(mw);
    if (header_tags >= 0 && read_headers(r, !is_subapp, header_tags, &h) == 0 &&
        ct_ext_integration_ensure_service(&mw->in) == 0) {
        method = PyObject_GetItem(r->scope, S.method);
        path = method ? PyObject_GetItem(r->scope, S.path) : NULL;
        r->span = path ? open_span(r, method, path) : NULL;
    }
    if (r->span) {
        r->service = Py_NewRef(mw->in.service.service);
        if (register_span(r) < 0) { /* never left open and active: it would adopt what follows */
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            ct_ext_span_finish(r->span, 0);
            Py_CLEAR(r->span);
            PyErr_Restore(type, value, tb);
        }
    }
    int rc = 1;
    if (!r->span) rc = report_failure(mw) < 0 ? -1 : 0;
    else if (tag_request(r, method, path, &h, header_tags) < 0 && report_failure(mw) < 0)
        rc = -1; /* (the span still ends: the app's await ends it) */
    Py_XDECREF(method);
    Py_XDECREF(path);
    request_headers_clear(&h);
    return rc;
}

/* -- ending the span ----------------------------------------------------------------- */

/* _resolve_route: the framework names a span its router did not. */
static int resolve_route(Request *r)
{
    PyObject *datadog = get_item(r->scope, S.datadog);
    if (!datadog || !PyDict_Check(datadog)) {
        Py_XDECREF(datadog);
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *resolver = PyDict_GetItemWithError(datadog, S.resolver);
    PyObject *paths = resolver ? PyDict_GetItemWithError(datadog, S.resource_paths) : NULL;
    int named = paths ? PyObject_IsTrue(paths) : 0;
    int rc = PyErr_Occurred() || named < 0 ? -1 : 0;
    if (rc == 0 && resolver && resolver != Py_None && !named) {
        PyObject *args[2] = {r->scope, (PyObject *)r->span};
        PyObject *result = PyObject_Vectorcall(resolver, args, 2, NULL);
        rc = result ? 0 : -1;
        Py_XDECREF(result);
    }
    Py_DECREF(datadog);
    return rc;
}

/* The span leaves scope["datadog"]["request_spans"]. */
static int unregister_span(Request *r)
{
    PyObject *datadog = get_item(r->scope, S.datadog);
    PyObject *spans = datadog && PyDict_Check(datadog) ? get_item(datadog, S.request_spans) : NULL;
    int rc = PyErr_Occurred() ? -1 : 0;
    if (spans && PyList_Check(spans)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(spans); i++) {
            if (PyList_GET_ITEM(spans, i) == (PyObject *)r->span) {
                rc = PySequence_DelItem(spans, i);
                break;
            }
        }
    }
    Py_XDECREF(spans);
    Py_XDECREF(datadog);
    return rc;
}

/* As ddtrace, the integration's service again: a change made inside the
 * app does not stick, a change of the settings during the request does. */
static int service_again(Request *r)
{
    ct_ext_integration *in = &r->mw->in;
    if (ct_ext_integration_ensure_service(in) < 0) return -1;
    int changed = PyObject_RichCompareBool(in->service.service, r->service, Py_NE);
    if (changed < 0) return -1;
    if (changed) {
        PyObject *args[3] = {(PyObject *)r->span, r->service, in->int_config};
        PyObject *result = call_helper(r->mw, S.c_set_service, args, 3);
        Py_XDECREF(result);
        return result ? 0 : -1;
    }
    return tag_service(r);
}

static int end_steps(Request *r)
{
    if (resolve_route(r) < 0 || unregister_span(r) < 0) return -1;
    return service_again(r);
}

static int finish_if_ok(Request *r)
{
    if (ct__span_error(&r->span->span)) return 0; /* the exception to come ends it */
    int rc = resolve_route(r);
    ct_ext_span_finish(r->span, 0);
    return rc;
}

/* step(r) with the pending exception (if any) kept: a failure of the
 * step is reported. 0; -1 when the step raised what must propagate
 * instead (KeyboardInterrupt), which then replaced the pending one. */
static int guarded(Request *r, int (*step)(Request *))
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (step(r) < 0 && report_failure(r->mw) < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return -1;
    }
    PyErr_Restore(type, value, tb);
    return 0;
}

/* The framework's handler tags the failed request (default: 500). */
static int tag_exception(Request *r)
{
    if (!r->mw->handle_exception) return ct_ext_span_set_tag(r->span, S.tag_status, S.status_500);
    PyObject *args[2] = {r->raised, (PyObject *)r->span};
    PyObject *result = PyObject_Vectorcall(r->mw->handle_exception, args, 2, NULL);
    Py_XDECREF(result);
    return result ? 0 : -1;
}

/* The app raised (an Exception): recorded on the span and tagged; the
 * exception stays set. guarded()'s result. */
static int record_exception(Request *r)
{
    ct_ext_record_error(r->span);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb); /* (normalized by ct_ext_record_error) */
    PyErr_Restore(type, value, tb);
    r->raised = value ? value : Py_None; /* (borrowed: the pending exception holds it) */
    int rc = guarded(r, tag_exception);
    r->raised = NULL;
    return rc;
}

/* The request's awaitable ended (rc: how): exception recorded, span ended.
 * Returns rc, or PYGEN_ERROR when the tracing raised what must propagate. */
static PySendResult end_request(Request *r, PySendResult rc, PyObject **result)
{
    if (!r->span) return rc;
    int failed = 0;
    if (rc == PYGEN_ERROR && PyErr_ExceptionMatches(PyExc_Exception))
        failed = record_exception(r) < 0;
    if (!failed) failed = guarded(r, end_steps) < 0;
    ct_ext_span_finish(r->span, 0); /* on every path */
    if (!failed) return rc;
    Py_CLEAR(*result);
    return PYGEN_ERROR;
}

/* -- the response -------------------------------------------------------------------- */

/* http.response.start: the status and what follows from it. */
static int on_response_start(Request *r, PyObject *message)
{
    Middleware *mw = r->mw;
    PyObject *status = get_item(message, S.status);
    if (!status) return PyErr_Occurred() ? -1 : 0;
    if (!PyLong_CheckExact(status)) { /* "200", 200.0...: set_http_meta's rules */
        PyObject *args[4] = {(PyObject *)r->span, mw->in.int_config, r->scope, message};
        PyObject *result = call_helper(mw, S.c_response_start, args, 4);
        Py_XDECREF(result);
        Py_DECREF(status);
        return result ? 0 : -1;
    }
    int overflow;
    long code = PyLong_AsLongAndOverflow(status, &overflow);
    PyObject *obfuscate = PyDict_GetItemWithError(mw->in.int_config, S.obfuscate_404);
    int rc = PyErr_Occurred() ? -1 : 0;
    if (rc == 0 && obfuscate && code == 404 && !overflow && PyObject_IsTrue(obfuscate) > 0) {
        PyObject *method = get_item(r->scope, S.method);
        PyObject *resource =
            PyErr_Occurred() ? NULL : PyUnicode_FromFormat("%S 404", method ? method : Py_None);
        rc = resource ? PyObject_SetAttr((PyObject *)r->span, S.resource, resource) : -1;
        Py_XDECREF(resource);
        Py_XDECREF(method);
    }
    int header_tags = rc == 0 ? header_tags_configured(mw) : -1;
    if (header_tags > 0) {
        PyObject *args[3] = {(PyObject *)r->span, mw->in.int_config, message};
        PyObject *result = call_helper(mw, S.c_response_headers, args, 3);
        Py_XDECREF(result);
        if (!result) header_tags = -1;
    }
    PyObject *text = header_tags >= 0 ? PyObject_Str(status) : NULL;
    rc = text ? ct_ext_span_set_tag(r->span, S.tag_status, text) : -1;
    Py_XDECREF(text);
    int error = rc == 0 && !overflow ? is_error_code(mw, code) : rc;
    if (error > 0) ct__span_set_error(&r->span->span, 1);
    Py_DECREF(status);
    return error < 0 ? -1 : 0;
}

/* -- Await ----------------------------------------------------------------------------- */

static Await *await_new(Request *request, int kind, PyObject *inner)
{
    Await *self = PyObject_GC_New(Await, &Await_Type);
    if (!self) return NULL;
    self->request = (Request *)Py_NewRef(request);
    self->inner = Py_XNewRef(inner);
    self->kind = (uint8_t)kind;
    self->state = AWAIT_NEW;
    PyObject_GC_Track(self);
    return self;
}

/* A generator of a @types.coroutine function, which `await` accepts. */
static int is_generator_coroutine(PyObject *obj)
{
    if (!PyGen_CheckExact(obj)) return 0;
    PyObject *code = PyObject_GetAttrString(obj, "gi_code");
    int yes =
        code && PyCode_Check(code) && (((PyCodeObject *)code)->co_flags & CO_ITERABLE_COROUTINE);
    Py_XDECREF(code);
    PyErr_Clear();
    return yes;
}

/* The iterator `await obj` drives (new reference), or NULL with a TypeError. */
static PyObject *awaitable_iter(PyObject *obj)
{
    if (PyCoro_CheckExact(obj) || is_generator_coroutine(obj)) return Py_NewRef(obj);
    unaryfunc getter = Py_TYPE(obj)->tp_as_async ? Py_TYPE(obj)->tp_as_async->am_await : NULL;
    PyObject *iter = getter ? getter(obj) : NULL;
    if (!getter)
        PyErr_Format(PyExc_TypeError, "object %.100s can't be used in 'await' expression",
                     Py_TYPE(obj)->tp_name);
    if (iter && (!PyIter_Check(iter) || PyCoro_CheckExact(iter))) {
        PyErr_Format(PyExc_TypeError, "__await__() returned a non-iterator of type '%.100s'",
                     Py_TYPE(iter)->tp_name);
        Py_CLEAR(iter);
    }
    return iter;
}

/* The first step of a request: its span, then the app's awaitable. */
static int begin_request(Await *self)
{
    Request *r = self->request;
    int traced = start_request(r);
    if (traced < 0) return -1;
    PyObject *args[3] = {r->scope, r->receive, traced ? (PyObject *)r : r->send};
    PyObject *awaitable = PyObject_Vectorcall(r->mw->app, args, 3, NULL);
    self->inner = awaitable ? awaitable_iter(awaitable) : NULL;
    Py_XDECREF(awaitable);
    return self->inner ? 0 : -1;
}

/* coroutine.throw(*args) raised in a frame that has nothing to delegate to */
static void raise_thrown(PyObject *args)
{
    PyObject *exc = PyTuple_GET_SIZE(args) ? PyTuple_GET_ITEM(args, 0) : Py_None;
    if (PyExceptionInstance_Check(exc)) PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    else if (PyExceptionClass_Check(exc))
        PyErr_SetObject(exc, PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : Py_None);
    else PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
}

/* inner.throw(*args), as PyIter_Send reports its outcome. */
static PySendResult throw_into(PyObject *inner, PyObject *args, PyObject **result)
{
    PyObject *method = PyObject_GetAttr(inner, S.throw_);
    if (!method) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return PYGEN_ERROR;
        PyErr_Clear();
        raise_thrown(args);
        return PYGEN_ERROR;
    }
    *result = PyObject_Call(method, args, NULL);
    Py_DECREF(method);
    if (*result) return PYGEN_NEXT;
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) return PYGEN_ERROR;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    *result = value ? PyObject_GetAttr(value, S.value) : Py_NewRef(Py_None);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return *result ? PYGEN_RETURN : PYGEN_ERROR;
}

static PySendResult await_ended(Await *self, PySendResult rc, PyObject **result)
{
    self->state = AWAIT_DONE;
    Py_CLEAR(self->inner);
    Request *r = self->request;
    if (self->kind == AWAIT_REQUEST) return end_request(r, rc, result);
    if (r->span && guarded(r, finish_if_ok) < 0) {
        Py_CLEAR(*result);
        return PYGEN_ERROR;
    }
    return rc;
}

/* One step: send(value), or throw(*throw_args) when given. */
static PySendResult await_step(Await *self, PyObject *value, PyObject *throw_args,
                               PyObject **result)
{
    *result = NULL;
    if (self->state == AWAIT_DONE) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        return PYGEN_ERROR;
    }
    if (self->state == AWAIT_NEW) {
        self->state = AWAIT_RUNNING;
        if (self->kind == AWAIT_REQUEST && throw_args) { /* nothing ran: nothing to trace */
            self->state = AWAIT_DONE;
            raise_thrown(throw_args);
            return PYGEN_ERROR;
        }
        if (self->kind == AWAIT_REQUEST && begin_request(self) < 0)
            return await_ended(self, PYGEN_ERROR, result);
    }
    PySendResult rc = throw_args ? throw_into(self->inner, throw_args, result)
                                 : PyIter_Send(self->inner, value, result);
    return rc == PYGEN_NEXT ? rc : await_ended(self, rc, result);
}

static void set_stop_iteration(PyObject *value)
{
    if (value == Py_None) {
        PyErr_SetNone(PyExc_StopIteration);
        return;
    }
    PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, value); /* a tuple stays one */
    if (exc) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
}

/* A step's outcome as a generator method returns it. */
static PyObject *as_method_result(PySendResult rc, PyObject *result)
{
    if (rc == PYGEN_NEXT) return result;
    if (rc == PYGEN_RETURN) {
        set_stop_iteration(result);
        Py_DECREF(result);
    }
    return NULL;
}

static PySendResult Await_am_send(Await *self, PyObject *value, PyObject **result)
{
    return await_step(self, value, NULL, result);
}

static PyObject *Await_iternext(Await *self)
{
    PyObject *result;
    PySendResult rc = await_step(self, Py_None, NULL, &result);
    if (rc == PYGEN_RETURN && result == Py_None) { /* exhausted: StopIteration(None) */
        Py_DECREF(result);
        return NULL;
    }
    return as_method_result(rc, result);
}

static PyObject *Await_send(Await *self, PyObject *value)
{
    PyObject *result;
    PySendResult rc = await_step(self, value, NULL, &result);
    return as_method_result(rc, result);
}

static PyObject *Await_throw(Await *self, PyObject *args)
{
    if (!PyTuple_GET_SIZE(args) || PyTuple_GET_SIZE(args) > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    PyObject *result;
    PySendResult rc = await_step(self, Py_None, args, &result);
    return as_method_result(rc, result);
}

/* close(): the inner awaitable closed, the span ended as `finally` would. */
static PyObject *Await_close(Await *self, PyObject *unused)
{
    if (self->state != AWAIT_RUNNING) {
        self->state = AWAIT_DONE;
        Py_RETURN_NONE;
    }
    PyObject *method = PyObject_GetAttr(self->inner, S.close_);
    PyObject *closed = method ? PyObject_CallNoArgs(method) : NULL;
    Py_XDECREF(method);
    if (!method && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        closed = Py_NewRef(Py_None);
    }
    PyObject *result = closed ? Py_NewRef(Py_None) : NULL;
    Py_XDECREF(closed);
    PySendResult rc = await_ended(self, closed ? PYGEN_RETURN : PYGEN_ERROR, &result);
    return rc == PYGEN_ERROR ? NULL : result;
}

/* Dropped while running (a task destroyed mid-request): closed, so the span ends. */
static void Await_finalize(Await *self)
{
    if (self->state != AWAIT_RUNNING) return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *result = Await_close(self, NULL);
    if (!result) PyErr_WriteUnraisable((PyObject *)self);
    Py_XDECREF(result);
    PyErr_Restore(type, value, tb);
}

static PyObject *Await_await(Await *self) { return Py_NewRef(self); }

static int Await_traverse(Await *self, visitproc visit, void *arg)
{
    Py_VISIT(self->request);
    Py_VISIT(self->inner);
    return 0;
}

static int Await_clear(Await *self)
{
    Py_CLEAR(self->request);
    Py_CLEAR(self->inner);
    return 0;
}

static void Await_dealloc(Await *self)
{
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) return; /* resurrected */
    PyObject_GC_UnTrack(self);
    Await_clear(self);
    PyObject_GC_Del(self);
}

static PyMethodDef Await_methods[] = {
    {"send", (PyCFunction)Await_send, METH_O, "send(value): the next step."},
    {"throw", (PyCFunction)Await_throw, METH_VARARGS, "throw(exc): raised where it waits."},
    {"close", (PyCFunction)Await_close, METH_NOARGS, "close(): stops it; the span ends."},
    {NULL},
};

static PyAsyncMethods Await_async = {
    .am_await = (unaryfunc)Await_await,
    .am_send = (sendfunc)Await_am_send,
};

static PyTypeObject Await_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.AsgiAwait",
    .tp_basicsize = sizeof(Await),
    .tp_dealloc = (destructor)Await_dealloc,
    .tp_as_async = &Await_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The awaitable of a traced ASGI request, or of its last body message.",
    .tp_traverse = (traverseproc)Await_traverse,
    .tp_clear = (inquiry)Await_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Await_iternext,
    .tp_methods = Await_methods,
    .tp_finalize = (destructor)Await_finalize,
};

/* -- Request: the app's send ----------------------------------------------------------- */

/* message.get(key) as a truth value: 1, 0, or -1 with an exception. */
static int message_flag(PyObject *message, PyObject *key)
{
    PyObject *value = get_item(message, key);
    int truth = value ? PyObject_IsTrue(value) : (PyErr_Occurred() ? -1 : 0);
    Py_XDECREF(value);
    return truth;
}

/* send(message): the status of http.response.start is tagged; the span
 * finishes once the last body message is out. */
static PyObject *Request_vectorcall(Request *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames) {
        PyErr_SetString(PyExc_TypeError, "send(message)");
        return NULL;
    }
    PyObject *message = args[0];
    PyObject *type = get_item(message, S.type);
    int last = 0;
    if (!type && PyErr_Occurred()) {
        if (report_failure(self->mw) < 0) return NULL;
    } else if (is_str(type, S.response_start)) {
        if (on_response_start(self, message) < 0 && report_failure(self->mw) < 0) {
            Py_DECREF(type);
            return NULL;
        }
    } else if (is_str(type, S.response_body)) {
        int more = message_flag(message, S.more_body);
        if (more < 0 && report_failure(self->mw) < 0) {
            Py_DECREF(type);
            return NULL;
        }
        last = more == 0;
    }
    Py_XDECREF(type);
    PyObject *awaitable = PyObject_Vectorcall(self->send, args, 1, NULL);
    if (!last || !self->span) return awaitable;
    if (!awaitable) { /* send raised: the span ends all the same */
        guarded(self, finish_if_ok);
        return NULL;
    }
    PyObject *inner = awaitable_iter(awaitable);
    if (!inner) { /* not awaitable: the app's await will say so */
        PyErr_Clear();
        if (guarded(self, finish_if_ok) < 0) Py_CLEAR(awaitable);
        return awaitable;
    }
    Py_DECREF(awaitable);
    Await *wrapped = await_new(self, AWAIT_SEND, inner);
    Py_DECREF(inner);
    return (PyObject *)wrapped;
}

/* clang-format off */
#define REQUEST_FIELDS(X) X(mw) X(scope) X(receive) X(send) X(span) X(service)
/* clang-format on */

CT_EXT_DEFINE_GC_FIELDS(Request, REQUEST_FIELDS)

static void Request_dealloc(Request *self)
{
    PyObject_GC_UnTrack(self);
    Request_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject Request_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.AsgiSend",
    .tp_basicsize = sizeof(Request),
    .tp_dealloc = (destructor)Request_dealloc,
    .tp_vectorcall_offset = offsetof(Request, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The send of a traced ASGI request: send(message) -> awaitable.",
    .tp_traverse = (traverseproc)Request_traverse,
    .tp_clear = (inquiry)Request_clear,
};

static Request *request_new(Middleware *mw, PyObject *const *args)
{
    Request *self = PyObject_GC_New(Request, &Request_Type);
    if (!self) return NULL;
    self->mw = (Middleware *)Py_NewRef(mw);
    self->scope = Py_NewRef(args[0]);
    self->receive = Py_NewRef(args[1]);
    self->send = Py_NewRef(args[2]);
    self->span = NULL;
    self->service = NULL;
    self->raised = NULL;
    self->vectorcall = (vectorcallfunc)Request_vectorcall;
    PyObject_GC_Track(self);
    return self;
}

/* -- AsgiMiddleware ---------------------------------------------------------------------- */

static int is_http_scope(PyObject *scope)
{
    if (!PyDict_Check(scope)) return 0;
    PyObject *type = PyDict_GetItemWithError(scope, S.type);
    if (!type) return PyErr_Occurred() ? -1 : 0;
    return is_str(type, S.http);
}

static PyObject *Middleware_vectorcall(Middleware *self, PyObject *const *args, size_t nargsf,
                                       PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 3 || kwnames) {
        PyErr_SetString(PyExc_TypeError, "an ASGI app takes (scope, receive, send)");
        return NULL;
    }
    if (!self->app) {
        PyErr_SetString(PyExc_TypeError, "AsgiMiddleware.__init__ was not called");
        return NULL;
    }
    /* (a disabled tracer still gets the span, unsent: span_from_scope
     * must keep answering inside the app) */
    int http = self->tracer->tracer ? is_http_scope(args[0]) : 0;
    if (http < 0) PyErr_Clear(); /* a scope that cannot say: the app's business */
    if (http <= 0) return PyObject_Vectorcall(self->app, args, 3, NULL);
    Request *request = request_new(self, args);
    Await *awaitable = request ? await_new(request, AWAIT_REQUEST, NULL) : NULL;
    Py_XDECREF(request);
    return (PyObject *)awaitable;
}

static PyObject *Middleware_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Middleware *self = (Middleware *)type->tp_alloc(type, 0);
    if (self) self->vectorcall = (vectorcallfunc)Middleware_vectorcall;
    return (PyObject *)self;
}

static int Middleware_clear(Middleware *self);

static int Middleware_init(Middleware *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"app",
                            "tracer",
                            "int_config",
                            "resolve",
                            "failed",
                            "helpers",
                            "handle_exception_span",
                            "span_modifier",
                            "route_resolver",
                            NULL};
    PyObject *app, *tracer, *int_config, *resolve, *failed, *helpers;
    PyObject *handle = Py_None, *modifier = Py_None, *resolver = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!OOOO|OOO", names, &app, &PyTracer_Type,
                                     &tracer, &int_config, &resolve, &failed, &helpers, &handle,
                                     &modifier, &resolver))
        return -1;
    PyObject *keys = PyObject_GetAttr(helpers, S.propagation_keys);
    if (!keys) return -1;
    int usable = PyTuple_Check(keys);
    for (Py_ssize_t i = 0; usable && i < PyTuple_GET_SIZE(keys); i++)
        usable = PyBytes_Check(PyTuple_GET_ITEM(keys, i));
    if (!usable || !PyCallable_Check(app)) {
        Py_DECREF(keys);
        PyErr_SetString(PyExc_TypeError, "AsgiMiddleware: a callable app, and helpers with "
                                         "_PROPAGATION_KEYS a tuple of bytes");
        return -1;
    }
    Middleware_clear(self); /* __init__ again: a fresh start */
    self->propagation_keys = keys;
    self->app = Py_NewRef(app);
    self->tracer = (PyTracer *)Py_NewRef(tracer);
    self->helpers = Py_NewRef(helpers);
    self->handle_exception = none_to_null(handle);
    self->span_modifier = none_to_null(modifier);
    self->route_resolver = none_to_null(resolver);
    if (ct_ext_integration_init(&self->in, tracer, int_config, resolve, failed) < 0) {
        Middleware_clear(self);
        return -1;
    }
    return 0;
}

/* clang-format off */
#define MIDDLEWARE_FIELDS(X)                                                    \
    X(app) X(tracer) X(helpers) X(handle_exception) X(span_modifier)            \
    X(route_resolver) X(propagation_keys)
/* clang-format on */

static int Middleware_traverse(Middleware *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    MIDDLEWARE_FIELDS(VISIT)
#undef VISIT
    return ct_ext_integration_traverse(&self->in, visit, arg);
}

static int Middleware_clear(Middleware *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    MIDDLEWARE_FIELDS(CLEAR)
#undef CLEAR
    ct_ext_integration_clear(&self->in);
    return 0;
}

static void Middleware_dealloc(Middleware *self)
{
    PyObject_GC_UnTrack(self);
    Middleware_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *get_field(PyObject *value) { return Py_NewRef(value ? value : Py_None); }
static PyObject *Middleware_get_app(Middleware *self, void *c) { return get_field(self->app); }
static PyObject *Middleware_get_config(Middleware *self, void *c)
{
    return get_field(self->in.int_config);
}
static PyObject *Middleware_get_handler(Middleware *self, void *c)
{
    return get_field(self->handle_exception);
}
static PyObject *Middleware_get_modifier(Middleware *self, void *c)
{
    return get_field(self->span_modifier);
}

static PyGetSetDef Middleware_getset[] = {
    {"app", (getter)Middleware_get_app, NULL, "The ASGI app traced.", NULL},
    {"integration_config", (getter)Middleware_get_config, NULL, "The integration's config.", NULL},
    {"handle_exception_span", (getter)Middleware_get_handler, NULL,
     "callable(exc, span) tagging a failed request (None: http.status_code 500).", NULL},
    {"span_modifier", (getter)Middleware_get_modifier, NULL, "callable(span, scope) or None.",
     NULL},
    {NULL},
};

static PyTypeObject Middleware_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace._ctrace.AsgiMiddleware",
    .tp_basicsize = sizeof(Middleware),
    .tp_dealloc = (destructor)Middleware_dealloc,
    .tp_vectorcall_offset = offsetof(Middleware, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_BASETYPE,
    .tp_doc = "AsgiMiddleware(app, tracer, int_config, resolve, failed, helpers, "
              "handle_exception_span=None, span_modifier=None, route_resolver=None): an ASGI "
              "app tracing the HTTP requests of app.",
    .tp_traverse = (traverseproc)Middleware_traverse,
    .tp_clear = (inquiry)Middleware_clear,
    .tp_getset = Middleware_getset,
    .tp_init = (initproc)Middleware_init,
    .tp_new = Middleware_new,
};

int ct_ext_asgi_init(PyObject *module)
{
#define INTERN(name, text) \
    if (!(S.name = PyUnicode_InternFromString(text))) return -1;
    ASGI_STRINGS(INTERN)
#undef INTERN
    if (ct_ext_integration_span_init() < 0) return -1;
    default_ports =
        Py_BuildValue("{s:i,s:i,s:i,s:i}", "http", 80, "https", 443, "ws", 80, "wss", 443);
    if (!default_ports || PyType_Ready(&Await_Type) < 0 || PyType_Ready(&Request_Type) < 0 ||
        PyType_Ready(&Middleware_Type) < 0)
        return -1;
    Py_INCREF(&Middleware_Type);
    return PyModule_AddObject(module, "AsgiMiddleware", (PyObject *)&Middleware_Type);
}
