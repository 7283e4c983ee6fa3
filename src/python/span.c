/*
 * span.c — ddtrace.trace.Span: a Python object embedding a ct_span.
 *
 * Creation, tags, finish and serialization are the core's (src/core/span.c);
 * this file routes Python values the way ddtrace's Span.set_tag does (ints
 * that fit and floats to metrics, everything else str() to meta, the
 * special keys), turns exceptions into error tags, and keeps the active
 * span in the ContextVar. Nothing here raises into user code for bad tag
 * input: ddtrace logs and ignores, and so do we.
 *
 * The Python object owns the embedded span: the span's record is copied
 * into its segment at finish, so the object can die at any time after;
 * an object that dies unfinished abandons its span (counted as dropped).
 */
#include "ext.h"

#include <math.h>

#include "args.h"

static ct_tracer *core_tracer(PySpan *self) { return self->tracer->tracer; }

/* -- creation ----------------------------------------------------------------- */

static int remote_parent_from(PyObject *parent, ct_remote_parent *remote)
{
    PyTraceContext *context = (PyTraceContext *)parent;
    remote->trace_id_high = context->trace_id_high;
    remote->trace_id_low = context->trace_id_low;
    remote->span_id = context->span_id;
    remote->sampling_priority = CT_PRIORITY_UNSET;
    remote->origin = NULL;
    remote->tracestate = NULL;
    if (context->metrics) {
        PyObject *priority = PyDict_GetItemString(context->metrics, "_sampling_priority_v1");
        if (priority && PyNumber_Check(priority)) {
            long p = PyLong_AsLong(priority);
            if (!PyErr_Occurred()) remote->sampling_priority = (int)p;
            PyErr_Clear();
        }
    }
    if (context->meta) {
        PyObject *origin = PyDict_GetItemString(context->meta, "_dd.origin");
        if (origin && PyUnicode_Check(origin)) remote->origin = PyUnicode_AsUTF8(origin);
        PyErr_Clear();
        PyObject *tracestate = PyDict_GetItemString(context->meta, "tracestate");
        if (tracestate && PyUnicode_Check(tracestate))
            remote->tracestate = PyUnicode_AsUTF8(tracestate);
        PyErr_Clear();
    }
    return 0;
}

/* What a local root takes from its remote parent's meta, as ddtrace does:
 * the `_dd.p.*` tags and `_dd.propagation_error` go to the segment (every
 * chunk carries them, and propagation reads them: a segment with an error
 * injects no x-datadog-tags), `_dd.parent_id` (the last Datadog parent,
 * from tracestate) to the root span itself. */
static void inherit_remote_meta(PySpan *self, PyObject *parent)
{
    PyTraceContext *context = (PyTraceContext *)parent;
    if (!context->meta) return;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(context->meta, &pos, &key, &value)) {
        if (!PyUnicode_Check(key) || !PyUnicode_Check(value)) continue;
        const char *text = PyUnicode_AsUTF8(key);
        if (!text) {
            PyErr_Clear();
            continue;
        }
        int trace_level = !strncmp(text, "_dd.p.", 6) || !strcmp(text, "_dd.propagation_error");
        int root_level = !strcmp(text, "_dd.parent_id");
        if (!trace_level && !root_level) continue;
        ct_string *k = ct_ext_string(key), *v = ct_ext_string(value);
        if (k && v && trace_level && !ct__string_equals(k, "_dd.p.tid", 9))
            ct__trace_set_propagated(ct__span_trace(&self->span), k, v);
        else if (k && v && root_level) ct__span_set_meta(&self->span, k, v);
        ct__string_unref(k);
        ct__string_unref(v);
    }
}

/* The set_link keyword arguments of a link given as a dict of them, or as
 * an object with ddtrace's SpanLink fields (new reference; NULL: skip). */
static PyObject *link_arguments(PyObject *item)
{
    if (PyDict_Check(item)) {
        Py_INCREF(item);
        return item;
    }
    static const char *const fields[] = {"trace_id", "span_id", "tracestate", "flags",
                                         "attributes"};
    PyObject *kwargs = PyDict_New();
    for (size_t i = 0; kwargs && i < sizeof fields / sizeof *fields; i++) {
        PyObject *value = PyObject_GetAttrString(item, fields[i]);
        if (!value) {
            PyErr_Clear();
            continue;
        }
        if (PyDict_SetItemString(kwargs, fields[i], value) < 0) Py_CLEAR(kwargs);
        Py_DECREF(value);
    }
    return kwargs;
}

/* Adds links (a list of dicts of Span.set_link arguments, or of SpanLink-
 * shaped objects) to the span: Span(links=...), and the span_links of a
 * Context a root starts from (propagation's restart behaviour), as in
 * ddtrace. Bad items are skipped, never raised. */
static void add_links(PySpan *self, PyObject *links)
{
    if (!links || !PyList_Check(links) || PyList_GET_SIZE(links) == 0) return;
    PyObject *items = PySequence_List(links); /* a copy: str() may run user code */
    PyObject *set_link = PyObject_GetAttrString((PyObject *)self, "set_link");
    PyObject *empty = PyTuple_New(0);
    for (Py_ssize_t i = 0; items && set_link && empty && i < PyList_GET_SIZE(items); i++) {
        PyObject *kwargs = link_arguments(PyList_GET_ITEM(items, i));
        PyObject *result = kwargs ? PyObject_Call(set_link, empty, kwargs) : NULL;
        Py_XDECREF(kwargs);
        Py_XDECREF(result);
        PyErr_Clear();
    }
    Py_XDECREF(items);
    Py_XDECREF(set_link);
    Py_XDECREF(empty);
    PyErr_Clear();
}

/* A root started from a Context with baggage shares that baggage (its
 * children find it through the root's Context), as in ddtrace. */
static void inherit_baggage(PySpan *self, PyObject *parent)
{
    PyObject *baggage = ((PyTraceContext *)parent)->baggage;
    if (!baggage || !PyDict_Check(baggage) || PyDict_GET_SIZE(baggage) == 0) return;
    PyObject *context = ct_ext_context_for_span(self);
    if (context) {
        Py_INCREF(baggage);
        Py_XSETREF(((PyTraceContext *)context)->baggage, baggage);
    }
    Py_XDECREF(context);
    PyErr_Clear();
}

static ct_string *optional_string(PyObject *obj)
{
    obj = ct_arg_or_null(obj);
    return obj ? ct_ext_string_of(obj) : NULL;
}

/* A new Span object of type, not yet started. */
static PySpan *span_alloc(PyTypeObject *type, PyTracer *tracer)
{
    PySpan *self = PyObject_GC_New(PySpan, type);
    if (!self) return NULL;
    self->tracer = tracer;
    Py_INCREF(tracer);
    self->parent = NULL;
    self->context = NULL;
    self->events = NULL;
    self->on_finish = NULL;
    self->weakrefs = NULL;
    self->started = 0;
    self->deferred = 0;
    return self;
}

PySpan *ct_ext_span_start(PyTracer *tracer, PyObject *name, PyObject *service, PyObject *resource,
                          PyObject *span_type, PyObject *parent, int activate)
{
    PySpan *self = span_alloc(&PySpan_Type, tracer);
    if (!self) return NULL;

    ct_remote_parent remote;
    ct_span_start_args args = {0};
    int is_remote = parent && Py_IS_TYPE(parent, &PyTraceContext_Type);
    if (parent && Py_IS_TYPE(parent, &PySpan_Type) && ((PySpan *)parent)->started) {
        args.parent = &((PySpan *)parent)->span;
        self->parent = parent;
        Py_INCREF(parent);
    } else if (is_remote) {
        remote_parent_from(parent, &remote);
        args.remote = &remote;
    }
    /* each str() may raise KeyboardInterrupt & co: stop at the first */
    args.name = ct_ext_string_of(name);
    args.service = PyErr_Occurred() ? NULL : optional_string(service);
    args.resource = PyErr_Occurred() ? NULL : optional_string(resource);
    args.type = PyErr_Occurred() ? NULL : optional_string(span_type);
    int rc = PyErr_Occurred() ? CT_EINVAL /* str() raised KeyboardInterrupt & co */
                              : ct__span_start(&self->span, tracer->tracer, &args);
    ct__string_unref(args.name);
    ct__string_unref(args.service);
    ct__string_unref(args.resource);
    ct__string_unref(args.type);
    if (rc != CT_OK) {
        Py_DECREF(self);
        return rc == CT_EINVAL ? NULL : (PySpan *)PyErr_NoMemory();
    }
    self->started = 1;
    if (self->parent) /* see Span_traverse: a root waits for its events */
        PyObject_GC_Track((PyObject *)self);
    if (is_remote && ct__span_local_root(&self->span)) {
        inherit_remote_meta(self, parent);
        add_links(self, ((PyTraceContext *)parent)->span_links);
        inherit_baggage(self, parent);
    }
    if (activate && ct_ext_activate((PyObject *)self) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

/* GC support: a span's events are a live list user code can put anything
 * in, the span itself included (an event whose attributes hold the span),
 * and a child leads back to its parent, whose events may hold the child.
 * Tracer and Context are not GC types, so no collectable cycle goes through
 * them. Hence a span without a parent can only be in a cycle once it has
 * events: such a span is tracked from then on (new_events), which keeps
 * the tracking off the commonest span, a root that never gets events (two
 * calls into the GC, ~80 instructions per span). */
static int Span_traverse(PySpan *self, visitproc visit, void *arg)
{
    Py_VISIT(self->events);
    Py_VISIT(self->on_finish);
    Py_VISIT(self->context);
    Py_VISIT(self->parent);
    Py_VISIT(self->tracer);
    return 0;
}

/* Breaks a cycle through what user code can reach and change (the events,
 * the on_finish callbacks, the Context); the parent and the tracer are kept: finish needs them, and
 * they are part of a cycle only through one of those two. */
static int Span_clear(PySpan *self)
{
    Py_CLEAR(self->events);
    Py_CLEAR(self->on_finish);
    Py_CLEAR(self->context);
    return 0;
}

/* The span's events list, created empty when missing (new reference
 * kept in self->events; NULL with an exception when out of memory). */
static PyObject *new_events(PySpan *self)
{
    if (!self->events && (self->events = PyList_New(0)) && !PyObject_GC_IsTracked((PyObject *)self))
        PyObject_GC_Track((PyObject *)self);
    return self->events;
}

static void Span_dealloc(PySpan *self)
{
    PyObject_GC_UnTrack((PyObject *)self);
    if (self->weakrefs) PyObject_ClearWeakRefs((PyObject *)self);
    if (self->deferred) ct__span_abandon_stopped(&self->span);
    if (self->started) ct__span_release(&self->span);
    Py_XDECREF(self->parent);
    Py_XDECREF(self->context);
    Py_XDECREF(self->events);
    Py_XDECREF(self->on_finish);
    Py_XDECREF(self->tracer);
    PyObject_GC_Del(self);
}

/* -- tags ----------------------------------------------------------------------- */

/* Stores the value text v under key, taking v's reference; v is NULL when
 * making it failed (warned about, as ddtrace logs a bad tag). */
static int set_meta_taking(PySpan *self, ct_string *key, ct_string *v)
{
    if (!v) {
        if (!PyErr_Occurred()) /* else KeyboardInterrupt & co: propagated */
            ct_ext_warn("error setting tag %s, ignoring it", key->data);
        return -1;
    }
    return ct__span_set_meta_taking(&self->span, key, v) == CT_OK ? 0 : -1;
}

static int set_meta_str(PySpan *self, ct_string *key, PyObject *value)
{
    return set_meta_taking(
        self, key, PyUnicode_CheckExact(value) ? ct_ext_string(value) : ct_ext_string_of(value));
}

/* ddtrace's set_metric: _dd.measured becomes 0/1, non-numbers go through
 * float(), NaN and infinities are ignored. */
static void set_metric(PySpan *self, ct_string *key, PyObject *value)
{
    double d;
    if (ct__string_equals(key, "_dd.measured", 12)) {
        int truth = PyObject_IsTrue(value);
        if (truth < 0) {
            ct_ext_swallow_error();
            return;
        }
        d = truth;
    } else if (PyFloat_CheckExact(value)) {
        d = PyFloat_AS_DOUBLE(value);
    } else if (PyLong_CheckExact(value)) { /* float(int) without the float object */
        d = PyLong_AsDouble(value);
        if (d == -1.0 && PyErr_Occurred()) {
            ct_ext_swallow_error(); /* OverflowError, as float() raises */
            return;
        }
    } else {
        PyObject *number = PyNumber_Float(value); /* float(): "1.5" works too */
        if (!number) {
            ct_ext_swallow_error();
            return;
        }
        d = PyFloat_AS_DOUBLE(number);
        Py_DECREF(number);
    }
    if (isnan(d) || isinf(d)) return;
    ct__span_set_metric_s(&self->span, key, d);
}

static int is_integer(PyObject *value) { return PyLong_Check(value) && !PyBool_Check(value); }

/* An int ddtrace 4 routes to metrics: any that fits in 64 signed bits
 * (metrics travel as doubles, so beyond 2**53 the value is rounded). */
static int small_integer(PyObject *value)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return !overflow;
}

int ct_ext_number_tag(PyObject *value, double *number)
{
    if (is_integer(value) && small_integer(value)) {
        *number = PyLong_AsDouble(value);
    } else if (PyFloat_Check(value)) {
        *number = PyFloat_AS_DOUBLE(value);
    } else {
        return 0;
    }
    return 1;
}

static void set_priority(PySpan *self, int priority)
{
    ct__trace_set_priority(ct__span_trace(&self->span), priority, "-4");
}

int ct_ext_tag_key_kind(const ct_string *key)
{
    static const struct {
        const char *text;
        size_t len;
    } special[] = {{"manual.keep", 11},  {"manual.drop", 11},     {"_dd.measured", 12},
                   {"service.name", 12}, {"service.version", 15}, {"network.destination.port", 24}};
    if (ct__string_equals(key, "http.status_code", 16)) return CT_EXT_TAG_STATUS;
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        if (ct__string_equals(key, special[i].text, special[i].len)) return CT_EXT_TAG_SPECIAL;
    return CT_EXT_TAG_PLAIN;
}

/* The special keys of ddtrace's set_tag; 1 when handled completely. */
static int set_special_tag(PySpan *self, ct_string *key, PyObject *value)
{
    if (key->len != 11 && key->len != 12 && key->len != 15)
        return 0; /* none of the keys below: most tags stop here */
    if (ct__string_equals(key, "manual.keep", 11)) {
        set_priority(self, 2);
        return 1;
    }
    if (ct__string_equals(key, "manual.drop", 11)) {
        set_priority(self, -1);
        return 1;
    }
    if (ct__string_equals(key, "_dd.measured", 12)) {
        set_metric(self, key, value == Py_None ? Py_True : value);
        return 1;
    }
    if (ct__string_equals(key, "service.name", 12)) {
        ct_string *service = value == Py_None ? NULL : ct_ext_string_of(value);
        ct__span_set_service(&self->span, service);
    } else if (ct__string_equals(key, "service.version", 15)) {
        ct_string *version_key = ct__string_new("version", 7);
        if (version_key) set_meta_str(self, version_key, value);
        ct__string_unref(version_key);
    }
    return 0;
}

/* ddtrace's routing of a tag by its value's type and its key. */
static void set_tag_routed(PySpan *self, ct_string *k, PyObject *value)
{
    if (ct__string_equals(k, "http.status_code", 16)) {
        set_meta_str(self, k, value);
    } else if (is_integer(value) && small_integer(value)) {
        set_metric(self, k, value);
    } else if (PyFloat_Check(value)) {
        set_metric(self, k, value);
    } else if (ct__string_equals(k, "network.destination.port", 24) && !is_integer(value)) {
        PyObject *as_int = PyNumber_Long(value);
        if (!as_int && ct_ext_swallow_error() < 0) return;
        if (as_int && small_integer(as_int)) set_metric(self, k, as_int);
        else set_meta_str(self, k, value);
        Py_XDECREF(as_int);
    } else if (!set_special_tag(self, k, value)) {
        set_meta_str(self, k, value);
    }
}

static void set_tag(PySpan *self, PyObject *key, PyObject *value)
{
    ct_string *k;
    if (PyBytes_Check(key)) { /* ddtrace decodes bytes keys */
        PyObject *text =
            PyUnicode_DecodeUTF8(PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key), "replace");
        k = text ? ct_ext_string(text) : NULL;
        Py_XDECREF(text);
        PyErr_Clear();
    } else {
        k = ct_ext_string(key);
    }
    if (!k) {
        if (!PyUnicode_Check(key)) ct_ext_warn("Ignoring tag pair: key must be a string");
        return;
    }
    if (PyUnicode_CheckExact(value)) {
        /* The common tag, a str: no number to route it by, so only the
         * keys that act on a str value are looked at (the type checks
         * below cost a subtype walk each for a str). */
        if (ct__string_equals(k, "network.destination.port", 24))
            set_tag_routed(self, k, value); /* "8080" becomes a metric */
        else if (!set_special_tag(self, k, value)) set_meta_str(self, k, value);
    } else {
        set_tag_routed(self, k, value);
    }
    ct__string_unref(k);
}

int ct_ext_span_set_tag(PySpan *span, PyObject *key, PyObject *value)
{
    set_tag(span, key, value);
    return PyErr_Occurred() ? -1 : 0;
}

/* set_tag's short path: a key the string cache holds (its kind known) and a
 * value of exact type str, int or float, which is nearly every call. The
 * routing of set_tag_routed, for these types only: a str to meta; an int
 * in 64 bits to metrics, or to meta as its text under http.status_code; a
 * float to metrics. Special keys go the general way. 1 when the tag is set
 * (nothing here raises: an exact int has no __index__ to call), 0 to take
 * the general path.
 *
 * The key's string is borrowed from the cache, not referenced: the tag
 * map takes its own reference, and nothing between the look-up and the
 * store touches the cache (a str value is looked up before the key, as it
 * may replace an entry, the key's included). */
static inline int set_tag_short(PySpan *self, PyObject *key, PyObject *value)
{
    int kind;
    if (PyUnicode_CheckExact(value)) {
        ct_string *v = ct_ext_string(value);
        ct_string *k = v ? ct_ext_cached_string(key, &kind) : NULL;
        if (!k || kind == CT_EXT_TAG_SPECIAL) {
            ct__string_unref(v);
            return 0;
        }
        ct__span_set_meta_taking(&self->span, k, v);
        return 1;
    }
    ct_string *k = ct_ext_cached_string(key, &kind);
    if (!k || kind == CT_EXT_TAG_SPECIAL) return 0;
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) return 0; /* beyond 64 bits: str() in the general path */
        if (kind == CT_EXT_TAG_STATUS) set_meta_taking(self, k, ct_ext_int_text(v));
        else ct__span_set_metric_s(&self->span, k, (double)v); /* as PyLong_AsDouble rounds */
        return 1;
    }
    if (PyFloat_CheckExact(value) && kind == CT_EXT_TAG_PLAIN) {
        set_metric(self, k, value); /* drops NaN and infinities */
        return 1;
    }
    return 0;
}

/* set_tag with any arguments and values: ddtrace's full routing. Out of
 * line so that Span_set_tag stays small: its prologue and epilogue are
 * paid on every call. */
__attribute__((noinline)) static PyObject *set_tag_general(PySpan *self, PyObject *const *args,
                                                           Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"key", "value"};
    PyObject *a[2];
    if (nargs == 2 && !kwnames) { /* set_tag(k, v), nearly every call */
        a[0] = args[0];
        a[1] = args[1];
    } else if (ct_parse_args("set_tag", args, nargs, kwnames, names, a, 2) < 0) {
        return NULL;
    }
    if (!a[0]) {
        PyErr_SetString(PyExc_TypeError, "set_tag() missing required argument 'key'");
        return NULL;
    }
    set_tag(self, a[0], a[1] ? a[1] : Py_None);
    if (PyErr_Occurred()) /* only what ct_ext_swallow_error kept */
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_set_tag(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    if (nargs == 2 && !kwnames && set_tag_short(self, args[0], args[1])) Py_RETURN_NONE;
    return set_tag_general(self, args, nargs, kwnames);
}

static PyObject *Span_set_tag_str(PySpan *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_set_tag_str(key, value)");
        return NULL;
    }
    ct_string *k = ct_ext_string(args[0]);
    if (k) set_meta_str(self, k, args[1]);
    ct__string_unref(k);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_set_tags(PySpan *self, PyObject *tags)
{
    if (tags == Py_None) Py_RETURN_NONE;
    if (!PyDict_Check(tags)) {
        ct_ext_warn("set_tags() expects a dict");
        Py_RETURN_NONE;
    }
    PyObject *items = PyDict_Items(tags); /* owned: callbacks may mutate tags */
    if (!items) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        set_tag(self, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1));
        if (PyErr_Occurred()) break;
    }
    Py_DECREF(items);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_set_metric(PySpan *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_metric(key, value)");
        return NULL;
    }
    ct_string *k = ct_ext_string(args[0]);
    if (k) set_metric(self, k, args[1]);
    ct__string_unref(k);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_set_metrics(PySpan *self, PyObject *metrics)
{
    if (!PyDict_Check(metrics)) Py_RETURN_NONE;
    PyObject *items = PyDict_Items(metrics);
    if (!items) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        ct_string *k = ct_ext_string(PyTuple_GET_ITEM(pair, 0));
        if (k) set_metric(self, k, PyTuple_GET_ITEM(pair, 1));
        ct__string_unref(k);
        if (PyErr_Occurred()) break;
    }
    Py_DECREF(items);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static int key_of(PyObject *key, const char **data, Py_ssize_t *len)
{
    if (!PyUnicode_Check(key)) return 0;
    *data = PyUnicode_AsUTF8AndSize(key, len);
    if (!*data) PyErr_Clear();
    return *data != NULL;
}

/* The tags the tracer adds (runtime-id, _sampling_priority_v1, ...): not
 * stored on the span but computed on read (ct__span_tracer_tags), and they
 * win over own tags of the same key, as in the payload. */
typedef struct tracer_tags {
    ct_extra_tags extra;
    ct_implied_tags implied;
} tracer_tags;

static void tracer_tags_of(PySpan *self, tracer_tags *t)
{
    if (self->started) ct__span_tracer_tags(&self->span, &t->extra, &t->implied);
    else
        t->extra.meta_count = t->extra.metric_count = t->implied.meta_count =
            t->implied.metric_count = 0;
}

static int same_key(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* The tracer's meta value for key as a str (new reference), or NULL. */
static PyObject *tracer_meta(const tracer_tags *t, const char *key, size_t len)
{
    for (uint32_t i = 0; i < t->implied.meta_count; i++)
        if (same_key(t->implied.meta[i].key.ptr, t->implied.meta[i].key.len, key, len))
            return PyUnicode_DecodeUTF8(t->implied.meta[i].value.ptr, t->implied.meta[i].value.len,
                                        "replace");
    for (uint32_t i = 0; i < t->extra.meta_count; i++)
        if (same_key(t->extra.meta[i].key, t->extra.meta[i].key_len, key, len))
            return PyUnicode_DecodeUTF8(t->extra.meta[i].value, t->extra.meta[i].value_len,
                                        "replace");
    return NULL;
}

static int tracer_metric(const tracer_tags *t, const char *key, size_t len, double *value)
{
    for (uint32_t i = 0; i < t->implied.metric_count; i++)
        if (same_key(t->implied.metrics[i].key.ptr, t->implied.metrics[i].key.len, key, len)) {
            *value = t->implied.metrics[i].value;
            return 1;
        }
    for (uint32_t i = 0; i < t->extra.metric_count; i++)
        if (same_key(t->extra.metrics[i].key, t->extra.metrics[i].key_len, key, len)) {
            *value = t->extra.metrics[i].value;
            return 1;
        }
    return 0;
}

static PyObject *Span_get_tag(PySpan *self, PyObject *key)
{
    const char *data;
    Py_ssize_t len;
    if (!key_of(key, &data, &len)) Py_RETURN_NONE;
    tracer_tags t;
    tracer_tags_of(self, &t);
    PyObject *theirs = tracer_meta(&t, data, (size_t)len);
    if (theirs) return theirs;
    ct_string *value = ct__tags_get_meta(ct__span_tags(&self->span), data, (size_t)len);
    return ct_ext_to_str(value);
}

/* A metric as ddtrace returns it: an int when it was an int. */
static PyObject *metric_value(double value)
{
    if (fabs(value) <= 0x1p63 && value == floor(value)) /* ints set as ints */
        return PyLong_FromDouble(value);
    return PyFloat_FromDouble(value);
}

static PyObject *Span_get_metric(PySpan *self, PyObject *key)
{
    const char *data;
    Py_ssize_t len;
    double value;
    if (!key_of(key, &data, &len)) Py_RETURN_NONE;
    tracer_tags t;
    tracer_tags_of(self, &t);
    if (!tracer_metric(&t, data, (size_t)len, &value) &&
        !ct__tags_get_metric(ct__span_tags(&self->span), data, (size_t)len, &value))
        Py_RETURN_NONE;
    return metric_value(value);
}

static int put_item(PyObject *dict, PyObject *k, PyObject *v)
{
    int rc = (k && v) ? PyDict_SetItem(dict, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

static PyObject *Span_get_tags(PySpan *self, PyObject *unused)
{
    PyObject *dict = PyDict_New();
    const ct_tags *tags = ct__span_tags(&self->span);
    for (uint32_t i = 0; dict && i < tags->meta_count; i++)
        if (put_item(dict, ct_ext_to_str(tags->meta[i].key), ct_ext_to_str(tags->meta[i].value)) <
            0)
            Py_CLEAR(dict);
    tracer_tags t;
    tracer_tags_of(self, &t);
    for (uint32_t i = 0; dict && i < t.extra.meta_count; i++)
        if (put_item(dict,
                     PyUnicode_DecodeUTF8(t.extra.meta[i].key, t.extra.meta[i].key_len, "replace"),
                     PyUnicode_DecodeUTF8(t.extra.meta[i].value, t.extra.meta[i].value_len,
                                          "replace")) < 0)
            Py_CLEAR(dict);
    for (uint32_t i = 0; dict && i < t.implied.meta_count; i++)
        if (put_item(dict,
                     PyUnicode_DecodeUTF8(t.implied.meta[i].key.ptr, t.implied.meta[i].key.len,
                                          "replace"),
                     PyUnicode_DecodeUTF8(t.implied.meta[i].value.ptr, t.implied.meta[i].value.len,
                                          "replace")) < 0)
            Py_CLEAR(dict);
    return dict;
}

static PyObject *Span_get_metrics(PySpan *self, PyObject *unused)
{
    PyObject *dict = PyDict_New();
    const ct_tags *tags = ct__span_tags(&self->span);
    for (uint32_t i = 0; dict && i < tags->metric_count; i++)
        if (put_item(dict, ct_ext_to_str(tags->metrics[i].key),
                     metric_value(tags->metrics[i].value)) < 0)
            Py_CLEAR(dict);
    tracer_tags t;
    tracer_tags_of(self, &t);
    for (uint32_t i = 0; dict && i < t.extra.metric_count; i++)
        if (put_item(
                dict,
                PyUnicode_DecodeUTF8(t.extra.metrics[i].key, t.extra.metrics[i].key_len, "replace"),
                metric_value(t.extra.metrics[i].value)) < 0)
            Py_CLEAR(dict);
    for (uint32_t i = 0; dict && i < t.implied.metric_count; i++)
        if (put_item(dict,
                     PyUnicode_DecodeUTF8(t.implied.metrics[i].key.ptr,
                                          t.implied.metrics[i].key.len, "replace"),
                     metric_value(t.implied.metrics[i].value)) < 0)
            Py_CLEAR(dict);
    return dict;
}

/* -- errors ------------------------------------------------------------------------ */

#define TRACEBACK_FRAMES 30
#define MAX_META_VALUE 25000

static PyObject *format_traceback(PyObject *type, PyObject *value, PyObject *tb)
{
    long limit = TRACEBACK_FRAMES;
    for (;;) {
        PyObject *lines =
            PyObject_CallFunction(ct_ext.format_exception, "OOOl", type, value, tb, -limit);
        if (!lines) return NULL;
        PyObject *empty = PyUnicode_FromString("");
        PyObject *text = empty ? PyUnicode_Join(empty, lines) : NULL;
        Py_XDECREF(empty);
        Py_DECREF(lines);
        if (!text || PyUnicode_GET_LENGTH(text) <= MAX_META_VALUE || limit <= 1) return text;
        Py_DECREF(text);
        limit /= 2; /* keep the most recent frames, as ddtrace does */
    }
}

static void set_meta_cstr(PySpan *self, ct_string *key, PyObject *value)
{
    if (value) set_meta_str(self, key, value);
}

static int is_clean_exit(PyObject *type, PyObject *value)
{
    if (!PyType_Check(type) ||
        !PyType_IsSubtype((PyTypeObject *)type, (PyTypeObject *)PyExc_SystemExit))
        return 0;
    PyObject *code = PyObject_GetAttrString(value, "code");
    if (!code) {
        PyErr_Clear();
        return 0;
    }
    /* only an exit code of 0 is clean: sys.exit() (code None) is recorded,
     * as ddtrace does */
    int clean = PyLong_Check(code) && PyLong_AsLong(code) == 0;
    PyErr_Clear();
    Py_DECREF(code);
    return clean;
}

static PyObject *exception_type_name(PyObject *type)
{
    PyObject *module = PyObject_GetAttrString(type, "__module__");
    PyObject *name = PyObject_GetAttrString(type, "__name__");
    PyObject *result = NULL;
    if (module && name) result = PyUnicode_FromFormat("%S.%S", module, name);
    Py_XDECREF(module);
    Py_XDECREF(name);
    return result;
}

static PyObject *exception_message(PyObject *value)
{
    PyObject *message = PyObject_Str(value);
    if (message) return message;
    PyErr_Clear(); /* a __str__ that raises: the class name, as ddtrace */
    return PyUnicode_FromString(Py_TYPE(value)->tp_name);
}

void ct_ext_span_set_exc_info(PySpan *self, PyObject *type, PyObject *value, PyObject *tb)
{
    if (!tb || tb == Py_None) return;
    ct_ext_span_record_error(self, type, value, tb);
}

void ct_ext_span_record_error(PySpan *self, PyObject *type, PyObject *value, PyObject *tb)
{
    if (!type || !value || type == Py_None || value == Py_None) return;
    if (is_clean_exit(type, value)) return;
    PyObject *saved_type, *saved_value, *saved_tb;
    PyErr_Fetch(&saved_type, &saved_value, &saved_tb);
    ct__error_keys k = ct__tracer_error_keys(core_tracer(self));
    ct__span_set_error(&self->span, 1);
    PyObject *type_name = exception_type_name(type);
    PyErr_Clear();
    PyObject *message = exception_message(value);
    PyObject *stack = format_traceback(type, value, tb ? tb : Py_None);
    PyErr_Clear();
    set_meta_cstr(self, k.type, type_name);
    set_meta_cstr(self, k.message, message);
    set_meta_cstr(self, k.stack, stack);
    Py_XDECREF(type_name);
    Py_XDECREF(message);
    Py_XDECREF(stack);
    PyErr_Restore(saved_type, saved_value, saved_tb);
}

static PyObject *Span_set_exc_info(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    static const char *const names[] = {"exc_type", "exc_val", "exc_tb", "limit"};
    PyObject *a[4];
    if (ct_parse_args("set_exc_info", args, nargs, kwnames, names, a, 4) < 0) return NULL;
    ct_ext_span_set_exc_info(self, a[0], a[1], a[2]);
    Py_RETURN_NONE;
}

/* record_exception(exc, attributes=None): an "exception" span event. */
static PyObject *Span_record_exception(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    static const char *const names[] = {"exception", "attributes"};
    PyObject *a[2];
    if (ct_parse_args("record_exception", args, nargs, kwnames, names, a, 2) < 0) return NULL;
    if (!a[0] || !PyExceptionInstance_Check(a[0])) {
        ct_ext_warn("record_exception() expects an exception");
        Py_RETURN_NONE;
    }
    PyObject *exc = a[0], *type = (PyObject *)Py_TYPE(exc);
    PyObject *tb = PyException_GetTraceback(exc);
    PyObject *type_name = exception_type_name(type);
    PyObject *message = exception_message(exc);
    PyObject *stack = format_traceback(type, exc, tb ? tb : Py_None);
    Py_XDECREF(tb);
    PyErr_Clear();
    PyObject *attributes = Py_BuildValue(
        "{s:O,s:O,s:O}", "exception.type", type_name ? type_name : Py_None, "exception.message",
        message ? message : Py_None, "exception.stacktrace", stack ? stack : Py_None);
    Py_XDECREF(type_name);
    Py_XDECREF(message);
    Py_XDECREF(stack);
    if (attributes && a[1] && PyDict_Check(a[1])) PyDict_Update(attributes, a[1]);
    PyObject *event = attributes
                          ? Py_BuildValue("{s:s,s:L,s:O}", "name", "exception", "time_unix_nano",
                                          (long long)ct__clock_wall_ns(), "attributes", attributes)
                          : NULL;
    Py_XDECREF(attributes);
    if (event && new_events(self)) PyList_Append(self->events, event);
    Py_XDECREF(event);
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* -- links -------------------------------------------------------------------------- */

static int split_trace_id(PyObject *id, uint64_t *high, uint64_t *low)
{
    PyObject *mask = PyLong_FromUnsignedLongLong(UINT64_MAX);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *low_obj = mask ? PyNumber_And(id, mask) : NULL;
    PyObject *high_obj = shift ? PyNumber_Rshift(id, shift) : NULL;
    int ok = low_obj && high_obj;
    if (ok) {
        *low = PyLong_AsUnsignedLongLong(low_obj);
        *high = PyLong_AsUnsignedLongLong(high_obj);
        ok = !PyErr_Occurred();
    }
    Py_XDECREF(mask);
    Py_XDECREF(shift);
    Py_XDECREF(low_obj);
    Py_XDECREF(high_obj);
    PyErr_Clear();
    return ok;
}

static void link_attributes(ct_link *link, PyObject *attributes)
{
    if (!attributes || !PyDict_Check(attributes)) return;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(attributes, &pos, &key, &value)) {
        ct_string *k = ct_ext_string_of(key);
        ct_string *v = NULL;
        if (PyBool_Check(value))
            v = ct__string_new(value == Py_True ? "true" : "false", value == Py_True ? 4 : 5);
        else v = ct_ext_string_of(value);
        if (k && v) ct__tags_set_meta(&link->attributes, k, v);
        ct__string_unref(k);
        ct__string_unref(v);
        if (PyErr_Occurred()) /* KeyboardInterrupt & co: the caller raises */
            return;
    }
}

static PyObject *Span_set_link(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    static const char *const names[] = {"trace_id", "span_id", "tracestate", "flags", "attributes"};
    PyObject *a[5];
    if (ct_parse_args("set_link", args, nargs, kwnames, names, a, 5) < 0) return NULL;
    ct_link link = {0};
    if (!a[0] || !a[1] || !PyLong_Check(a[0]) || !PyLong_Check(a[1]) ||
        !split_trace_id(a[0], &link.trace_id_high, &link.trace_id_low)) {
        ct_ext_warn("set_link() needs integer trace_id and span_id");
        Py_RETURN_NONE;
    }
    link.span_id = PyLong_AsUnsignedLongLongMask(a[1]);
    if (ct_arg_or_null(a[3]) && PyLong_Check(a[3]))
        link.flags = (uint32_t)PyLong_AsUnsignedLongMask(a[3]) | 0x80000000u;
    link.tracestate = ct_arg_or_null(a[2]) ? ct_ext_string_of(a[2]) : NULL;
    if (!PyErr_Occurred()) link_attributes(&link, a[4]);
    int interrupted = PyErr_Occurred() && ct_ext_swallow_error() < 0;
    if (!interrupted) ct__span_add_link(&self->span, &link);
    ct__string_unref(link.tracestate);
    ct__tags_clear(&link.attributes);
    if (interrupted) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_link_span(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    static const char *const names[] = {"context", "attributes"};
    PyObject *a[2];
    if (ct_parse_args("link_span", args, nargs, kwnames, names, a, 2) < 0) return NULL;
    if (!a[0] || !PyObject_TypeCheck(a[0], &PyTraceContext_Type)) {
        ct_ext_warn("link_span() expects a Context");
        Py_RETURN_NONE;
    }
    PyTraceContext *context = (PyTraceContext *)a[0];
    if (!(context->trace_id_low || context->trace_id_high) || !context->span_id) {
        ct_ext_warn("Invalid span or trace id in link_span()");
        Py_RETURN_NONE;
    }
    ct_link link = {
        context->trace_id_high, context->trace_id_low, context->span_id, 0, NULL, CT_TAGS_INIT};
    link_attributes(&link, a[1]);
    if (!PyErr_Occurred()) ct__span_add_link(&self->span, &link);
    ct__tags_clear(&link.attributes);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

/* -- finish and the context-manager protocol ------------------------------------ */

/* Span events travel as JSON in the meta "events" (the agent protocol
 * without native span events). */
static void store_events(PySpan *self)
{
    if (!self->events || PyList_GET_SIZE(self->events) == 0) return;
    PyObject *json = PyImport_ImportModule("json");
    PyObject *text = json ? PyObject_CallMethod(json, "dumps", "O", self->events) : NULL;
    Py_XDECREF(json);
    ct_string *key = ct__string_new("events", 6);
    if (text && key) set_meta_str(self, key, text);
    ct__string_unref(key);
    Py_XDECREF(text);
    PyErr_Clear();
}

/* Records a span whose recording was deferred (see defer_finish); it may
 * complete its segment. No-op for any other span. */
static void record_deferred(PySpan *self)
{
    if (!self->deferred) return;
    self->deferred = 0;
    ct__span_record_stopped(&self->span);
}

/* Trace processors are configured: the span is finished but stays out of
 * its segment's records, and the hook (ddtrace/_processors.py) holds it
 * until every span of the segment has finished, runs the processors and
 * then records or drops each span. The user's exception state is kept
 * across the hook; a hook that fails records the span at once. */
static void defer_finish(PySpan *self, int64_t finish_ns)
{
    ct__span_stop_at(&self->span, finish_ns);
    self->deferred = 1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *hook = self->tracer->finish_hook;
    Py_INCREF(hook);
    PyObject *result = PyObject_CallOneArg(hook, (PyObject *)self);
    Py_DECREF(hook);
    if (!result) {
        PyErr_Clear();
        record_deferred(self);
    }
    Py_XDECREF(result);
    PyErr_Restore(type, value, tb);
}

/* A span built with Span(on_finish=[...]) (detached: never sent) calls
 * its callbacks once it is finished, as ddtrace does; a callback that
 * raises is logged and skipped, never raised into the caller. */
static void call_on_finish(PySpan *self, int64_t finish_ns)
{
    ct__span_finish_at(&self->span, finish_ns);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    /* Taken from the span: they run once, and a callback that refers to the
     * span (a closure) then no longer keeps it alive in a cycle. Run from a
     * copy: a callback may change the list. */
    PyObject *given = self->on_finish;
    self->on_finish = NULL;
    PyObject *callbacks = PySequence_List(given);
    Py_DECREF(given);
    for (Py_ssize_t i = 0; callbacks && i < PyList_GET_SIZE(callbacks); i++) {
        PyObject *result = PyObject_CallOneArg(PyList_GET_ITEM(callbacks, i), (PyObject *)self);
        if (!result) ct_ext_warn("error in a Span on_finish callback, ignoring it");
        Py_XDECREF(result);
        PyErr_Clear();
    }
    Py_XDECREF(callbacks);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

int ct_ext_span_finish(PySpan *self, int64_t finish_ns)
{
    if (!self->started || ct__span_finished(&self->span)) return 0;
    store_events(self);
    if (__builtin_expect(!self->on_finish && !self->tracer->finish_hook, 1))
        ct__span_finish_at(&self->span, finish_ns);
    else if (self->on_finish) call_on_finish(self, finish_ns);
    else defer_finish(self, finish_ns);
    return 0; /* its parent is active again: see ct_ext_active */
}

static PyObject *Span_record_deferred(PySpan *self, PyObject *unused)
{
    record_deferred(self);
    Py_RETURN_NONE;
}

/* A trace processor dropped the span: it is never sent (counted). */
static PyObject *Span_drop_deferred(PySpan *self, PyObject *unused)
{
    if (self->deferred) {
        self->deferred = 0;
        ct__span_abandon_stopped(&self->span);
    }
    Py_RETURN_NONE;
}

/* (segment id, spans of the segment not yet recorded): the hook's test
 * for "every span of this local trace has finished". */
static PyObject *Span_segment_state(PySpan *self, PyObject *unused)
{
    ct_trace *trace = self->started ? ct__span_trace(&self->span) : NULL;
    if (!trace) return Py_BuildValue("(KI)", 0ULL, 0u);
    return Py_BuildValue("(KI)", (unsigned long long)(uintptr_t)trace, ct__trace_open_spans(trace));
}

static PyObject *Span_finish(PySpan *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    static const char *const names[] = {"finish_time"};
    PyObject *finish_time;
    if (ct_parse_args("finish", args, nargs, kwnames, names, &finish_time, 1) < 0) return NULL;
    int64_t finish_ns = 0;
    if (ct_arg_or_null(finish_time)) {
        double seconds = PyFloat_AsDouble(finish_time);
        if (seconds == -1.0 && PyErr_Occurred()) return NULL;
        finish_ns = (int64_t)(seconds * 1e9);
    }
    if (ct_ext_span_finish(self, finish_ns) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Span_enter(PyObject *self, PyObject *unused)
{
    Py_INCREF(self);
    return self;
}

static PyObject *Span_exit(PySpan *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs == 3 && args[0] != Py_None) ct_ext_span_set_exc_info(self, args[0], args[1], args[2]);
    if (ct_ext_span_finish(self, 0) < 0) PyErr_Clear(); /* never replace the user's exception */
    Py_RETURN_NONE;
}

static PyObject *Span_finish_with_ancestors(PySpan *self, PyObject *unused)
{
    for (PySpan *span = self; span; span = (PySpan *)span->parent)
        if (ct_ext_span_finish(span, 0) < 0) return NULL;
    Py_RETURN_NONE;
}

/* -- attributes ---------------------------------------------------------------------- */

static PyObject *get_string_attr(ct_string *s) { return ct_ext_to_str(s); }

static int set_string_attr(ct_span *span, void (*set)(ct_span *, ct_string *), PyObject *value,
                           int nullable)
{
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete span attribute");
        return -1;
    }
    if (value == Py_None && nullable) {
        set(span, NULL);
        return 0;
    }
    ct_string *s = ct_ext_string_of(value);
    if (!s) return PyErr_Occurred() ? -1 : (PyErr_NoMemory(), -1);
    set(span, s);
    return 0;
}

static PyObject *Span_get_name(PySpan *self, void *c)
{
    return get_string_attr(ct__span_name(&self->span));
}
static int Span_set_name(PySpan *self, PyObject *v, void *c)
{
    return set_string_attr(&self->span, ct__span_set_name, v, 0);
}
static PyObject *Span_get_service(PySpan *self, void *c)
{
    return get_string_attr(ct__span_service(&self->span));
}
static int Span_set_service(PySpan *self, PyObject *v, void *c)
{
    return set_string_attr(&self->span, ct__span_set_service, v, 1);
}
static PyObject *Span_get_resource(PySpan *self, void *c)
{
    return get_string_attr(ct__span_resource(&self->span));
}
static int Span_set_resource(PySpan *self, PyObject *v, void *c)
{
    return set_string_attr(&self->span, ct__span_set_resource, v, 1);
}
static PyObject *Span_get_type(PySpan *self, void *c)
{
    return get_string_attr(ct__span_type(&self->span));
}
static int Span_set_type(PySpan *self, PyObject *v, void *c)
{
    return set_string_attr(&self->span, ct__span_set_type, v, 1);
}

PyObject *ct_ext_u128(uint64_t high, uint64_t low)
{
    PyObject *h = PyLong_FromUnsignedLongLong(high), *l = PyLong_FromUnsignedLongLong(low);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *shifted = (h && shift) ? PyNumber_Lshift(h, shift) : NULL;
    PyObject *result = (shifted && l) ? PyNumber_Or(shifted, l) : NULL;
    Py_XDECREF(h);
    Py_XDECREF(l);
    Py_XDECREF(shift);
    Py_XDECREF(shifted);
    return result;
}

static PyObject *Span_get_trace_id(PySpan *self, void *c)
{
    if (!ct__span_trace(&self->span)) Py_RETURN_NONE;
    return ct_ext_u128(ct_span_trace_id_high(&self->span), ct_span_trace_id_low(&self->span));
}
static PyObject *Span_get_trace_id_64(PySpan *self, void *c)
{
    return PyLong_FromUnsignedLongLong(ct_span_trace_id_low(&self->span));
}
static PyObject *Span_get_span_id(PySpan *self, void *c)
{
    return PyLong_FromUnsignedLongLong(ct__span_id(&self->span));
}
static PyObject *Span_get_parent_id(PySpan *self, void *c)
{
    if (!ct__span_parent_id(&self->span)) Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(ct__span_parent_id(&self->span));
}
static int Span_set_parent_id(PySpan *self, PyObject *v, void *c)
{
    if (!v) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete span attribute");
        return -1;
    }
    uint64_t id = v == Py_None ? 0 : PyLong_AsUnsignedLongLongMask(v);
    if (PyErr_Occurred()) return -1;
    ct__span_set_parent_id(&self->span, id);
    return 0;
}
static PyObject *Span_get_start_ns(PySpan *self, void *c)
{
    return PyLong_FromLongLong(ct__span_start_ns(&self->span));
}
static int set_start_ns(PySpan *self, int64_t ns)
{
    ct__span_set_start_ns(&self->span, ns); /* the duration now comes from wall time */
    return 0;
}
static int Span_set_start_ns(PySpan *self, PyObject *v, void *c)
{
    long long ns = v ? PyLong_AsLongLong(v) : -1;
    if (ns == -1 && (!v || PyErr_Occurred())) return -1;
    return set_start_ns(self, ns);
}
static PyObject *Span_get_start(PySpan *self, void *c)
{
    return PyFloat_FromDouble((double)ct__span_start_ns(&self->span) / 1e9);
}
static int Span_set_start(PySpan *self, PyObject *v, void *c)
{
    double s = v ? PyFloat_AsDouble(v) : -1.0;
    if (s == -1.0 && (!v || PyErr_Occurred())) return -1;
    return set_start_ns(self, (int64_t)(s * 1e9));
}
static PyObject *Span_get_duration_ns(PySpan *self, void *c)
{
    if (ct__span_duration_ns(&self->span) < 0) Py_RETURN_NONE;
    return PyLong_FromLongLong(ct__span_duration_ns(&self->span));
}
static int Span_set_duration_ns(PySpan *self, PyObject *v, void *c)
{
    long long ns = v ? PyLong_AsLongLong(v) : -1;
    if (ns == -1 && (!v || PyErr_Occurred())) return -1;
    ct__span_set_duration_ns(&self->span, ns);
    return 0;
}
static PyObject *Span_get_duration(PySpan *self, void *c)
{
    if (ct__span_duration_ns(&self->span) < 0) Py_RETURN_NONE;
    return PyFloat_FromDouble((double)ct__span_duration_ns(&self->span) / 1e9);
}
static int Span_set_duration(PySpan *self, PyObject *v, void *c)
{
    double s = v ? PyFloat_AsDouble(v) : -1.0;
    if (s == -1.0 && (!v || PyErr_Occurred())) return -1;
    ct__span_set_duration_ns(&self->span, (int64_t)(s * 1e9));
    return 0;
}
static PyObject *Span_get_error(PySpan *self, void *c)
{
    return PyLong_FromLong(ct__span_error(&self->span));
}
static int Span_set_error(PySpan *self, PyObject *v, void *c)
{
    int truth = v ? PyObject_IsTrue(v) : -1;
    if (truth < 0) return -1;
    ct__span_set_error(&self->span, truth);
    return 0;
}
static PyObject *Span_get_finished(PySpan *self, void *c)
{
    return PyBool_FromLong(ct__span_finished(&self->span));
}
static int Span_set_finished(PySpan *self, PyObject *v, void *c)
{
    int truth = v ? PyObject_IsTrue(v) : -1;
    if (truth < 0) return -1;
    if (truth && !ct__span_finished(&self->span)) return ct_ext_span_finish(self, 0);
    return 0;
}
static PyObject *Span_get_context(PySpan *self, void *c) { return ct_ext_context_for_span(self); }
static PyObject *Span_get_parent(PySpan *self, void *c)
{
    PyObject *parent = self->parent ? self->parent : Py_None;
    Py_INCREF(parent);
    return parent;
}
static PyObject *Span_get_local_root(PySpan *self, void *c)
{
    PySpan *span = self;
    while (span->parent && !ct__span_local_root(&span->span)) span = (PySpan *)span->parent;
    Py_INCREF(span);
    return (PyObject *)span;
}
/* The live list of span events (dicts: name, time_unix_nano, attributes),
 * for bridges that add events other than exceptions (OpenTelemetry). */
static PyObject *Span_get_events(PySpan *self, void *c)
{
    if (!new_events(self)) return NULL;
    Py_INCREF(self->events);
    return self->events;
}

static PyObject *Span_get_links(PySpan *self, void *c)
{
    PyObject *list = PyList_New(0);
    for (uint32_t i = 0; list && i < ct__span_link_count(&self->span); i++) {
        const ct_link *link = ct__span_link(&self->span, i);
        PyObject *trace_id = ct_ext_u128(link->trace_id_high, link->trace_id_low);
        PyObject *item = trace_id ? Py_BuildValue("{s:N,s:K}", "trace_id", trace_id, "span_id",
                                                  (unsigned long long)link->span_id)
                                  : NULL;
        if (!item || PyList_Append(list, item) < 0) Py_CLEAR(list);
        Py_XDECREF(item);
    }
    return list;
}

static PyObject *Span_repr(PySpan *self)
{
    PyObject *trace_id = Span_get_trace_id(self, NULL);
    const ct_string *name = ct__span_name(&self->span);
    PyObject *r = PyUnicode_FromFormat("<Span(id=%llu,trace_id=%S,parent_id=%llu,name=%s)>",
                                       (unsigned long long)ct__span_id(&self->span), trace_id,
                                       (unsigned long long)ct__span_parent_id(&self->span),
                                       name ? name->data : "");
    Py_XDECREF(trace_id);
    return r;
}

static PyGetSetDef Span_getset[] = {
    {"name", (getter)Span_get_name, (setter)Span_set_name, "the operation name", NULL},
    {"service", (getter)Span_get_service, (setter)Span_set_service, "the service", NULL},
    {"resource", (getter)Span_get_resource, (setter)Span_set_resource,
     "the resource (defaults to the name)", NULL},
    {"span_type", (getter)Span_get_type, (setter)Span_set_type, "the span type", NULL},
    {"trace_id", (getter)Span_get_trace_id, NULL, "the trace id (128-bit by default)", NULL},
    {"_trace_id_64bits", (getter)Span_get_trace_id_64, NULL, "the low 64 bits of the trace id",
     NULL},
    {"span_id", (getter)Span_get_span_id, NULL, "the span id", NULL},
    {"parent_id", (getter)Span_get_parent_id, (setter)Span_set_parent_id,
     "the parent's span id, None for a root", NULL},
    {"start_ns", (getter)Span_get_start_ns, (setter)Span_set_start_ns, "start, ns since the epoch",
     NULL},
    {"start", (getter)Span_get_start, (setter)Span_set_start, "start, seconds since the epoch",
     NULL},
    {"duration_ns", (getter)Span_get_duration_ns, (setter)Span_set_duration_ns,
     "duration in ns, None until finished", NULL},
    {"duration", (getter)Span_get_duration, (setter)Span_set_duration,
     "duration in seconds, None until finished", NULL},
    {"error", (getter)Span_get_error, (setter)Span_set_error, "1 when the span is an error", NULL},
    {"finished", (getter)Span_get_finished, (setter)Span_set_finished,
     "whether finish() was called", NULL},
    {"context", (getter)Span_get_context, NULL, "the span's Context", NULL},
    {"_parent", (getter)Span_get_parent, NULL, "the local parent span", NULL},
    {"_local_root", (getter)Span_get_local_root, NULL, "the local root span", NULL},
    {"_links", (getter)Span_get_links, NULL, "the span's links", NULL},
    {"_events", (getter)Span_get_events, NULL, "the span's events (live list)", NULL},
    {NULL},
};

static PyMethodDef Span_methods[] = {
    {"set_tag", (PyCFunction)(void (*)(void))Span_set_tag, METH_FASTCALL | METH_KEYWORDS,
     "Set a tag."},
    {"_set_tag_str", (PyCFunction)(void (*)(void))Span_set_tag_str, METH_FASTCALL,
     "Set a str tag."},
    {"set_tags", (PyCFunction)Span_set_tags, METH_O, "Set tags from a dict."},
    {"get_tag", (PyCFunction)Span_get_tag, METH_O, "A tag's value or None."},
    {"get_tags", (PyCFunction)Span_get_tags, METH_NOARGS, "All tags (a copy)."},
    {"set_metric", (PyCFunction)(void (*)(void))Span_set_metric, METH_FASTCALL, "Set a metric."},
    {"set_metrics", (PyCFunction)Span_set_metrics, METH_O, "Set metrics from a dict."},
    {"get_metric", (PyCFunction)Span_get_metric, METH_O, "A metric's value or None."},
    {"get_metrics", (PyCFunction)Span_get_metrics, METH_NOARGS, "All metrics (a copy)."},
    {"set_exc_info", (PyCFunction)(void (*)(void))Span_set_exc_info, METH_FASTCALL | METH_KEYWORDS,
     "Tag the span with an exception."},
    {"record_exception", (PyCFunction)(void (*)(void))Span_record_exception,
     METH_FASTCALL | METH_KEYWORDS, "Record an exception event."},
    {"set_link", (PyCFunction)(void (*)(void))Span_set_link, METH_FASTCALL | METH_KEYWORDS,
     "Link to another span."},
    {"link_span", (PyCFunction)(void (*)(void))Span_link_span, METH_FASTCALL | METH_KEYWORDS,
     "Link to a Context."},
    {"finish", (PyCFunction)(void (*)(void))Span_finish, METH_FASTCALL | METH_KEYWORDS,
     "Finish the span (idempotent)."},
    {"_finish_with_ancestors", (PyCFunction)Span_finish_with_ancestors, METH_NOARGS,
     "Finish with all ancestors."},
    {"_record_deferred", (PyCFunction)Span_record_deferred, METH_NOARGS,
     "Trace processors: send this finished span."},
    {"_drop_deferred", (PyCFunction)Span_drop_deferred, METH_NOARGS,
     "Trace processors: never send this finished span."},
    {"_segment_state", (PyCFunction)Span_segment_state, METH_NOARGS,
     "Trace processors: (segment id, spans not yet recorded)."},
    {"__enter__", (PyCFunction)Span_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Span_exit, METH_FASTCALL, NULL},
    {NULL},
};

/* -- Span(...) built by hand ------------------------------------------------------ */

/* The global tracer (ddtrace._tracer.tracer), new reference or NULL. */
static PyTracer *global_tracer(void)
{
    PyObject *module = PyImport_ImportModule("ddtrace._tracer");
    PyObject *tracer = module ? PyObject_GetAttrString(module, "tracer") : NULL;
    Py_XDECREF(module);
    if (tracer && !PyObject_TypeCheck(tracer, &PyTracer_Type)) {
        PyErr_SetString(PyExc_RuntimeError, "ddtrace._tracer.tracer is not a Tracer");
        Py_CLEAR(tracer);
    }
    return (PyTracer *)tracer;
}

static int id_arg(PyObject *value, uint64_t *id)
{
    *id = 0;
    if (!ct_arg_or_null(value)) return 0;
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "span ids must be ints");
        return -1;
    }
    *id = PyLong_AsUnsignedLongLongMask(value);
    return PyErr_Occurred() ? -1 : 0;
}

/* Ids, start and trace-level state (priority, origin) of a hand-built span:
 * the ids given, else new ones; the context's priority and origin. */
static int detached_args(const ct_tracer *tracer, PyObject *trace_id, PyObject *parent_id,
                         PyObject *context, ct_remote_parent *remote)
{
    memset(remote, 0, sizeof *remote);
    remote->sampling_priority = CT_PRIORITY_UNSET;
    if (context && PyObject_TypeCheck(context, &PyTraceContext_Type))
        remote_parent_from(context, remote);
    remote->trace_id_high = remote->trace_id_low = 0;
    if (ct_arg_or_null(trace_id) &&
        (!PyLong_Check(trace_id) ||
         !split_trace_id(trace_id, &remote->trace_id_high, &remote->trace_id_low))) {
        PyErr_SetString(PyExc_TypeError, "trace_id must be an int");
        return -1;
    }
    if (!remote->trace_id_high && !remote->trace_id_low) { /* a new trace */
        remote->trace_id_low = ct__ids_random64();
        if (ct__tracer_trace_id_128(tracer))
            remote->trace_id_high = ct__ids_trace_high(ct__clock_wall_ns() / 1000000000);
    }
    return id_arg(parent_id, &remote->span_id);
}

/* ddtrace's Span(name, service=, resource=, span_type=, trace_id=,
 * span_id=, parent_id=, start=, context=, on_finish=, span_api=, links=):
 * a span outside the tracer, as tests and helpers build them. It is never
 * sent and gets none of the tracer's tags; on_finish callbacks run at
 * finish; links are SpanLink-shaped objects or dicts of set_link
 * arguments. */
static PyObject *Span_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"name",     "service",   "resource", "span_type", "trace_id",
                            "span_id",  "parent_id", "start",    "context",   "on_finish",
                            "span_api", "links",     NULL};
    PyObject *a[12] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOOOOOOOOO", names, &a[0], &a[1], &a[2],
                                     &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10],
                                     &a[11]))
        return NULL;
    if (ct_arg_or_null(a[9]) && !PyList_Check(a[9])) {
        PyErr_SetString(PyExc_TypeError, "on_finish must be a list of callables");
        return NULL;
    }
    ct_remote_parent remote;
    ct_span_start_args start = {.remote = &remote};
    uint64_t span_id;
    PyTracer *tracer = global_tracer();
    if (!tracer) return NULL;
    if (detached_args(tracer->tracer, a[4], a[6], a[8], &remote) < 0 ||
        id_arg(a[5], &span_id) < 0) {
        Py_DECREF(tracer);
        return NULL;
    }
    if (ct_arg_or_null(a[7])) {
        double seconds = PyFloat_AsDouble(a[7]);
        if (seconds == -1.0 && PyErr_Occurred()) {
            Py_DECREF(tracer);
            return NULL;
        }
        start.start_ns = (int64_t)(seconds * 1e9);
    }
    PySpan *self = span_alloc(type, tracer);
    Py_DECREF(tracer);
    if (!self) return NULL;
    start.name = ct_ext_string_of(a[0]);
    start.service = optional_string(a[1]);
    start.resource = optional_string(a[2]);
    start.type = optional_string(a[3]);
    int rc = ct__span_start_detached(&self->span, self->tracer->tracer, &start, span_id);
    ct__string_unref(start.name);
    ct__string_unref(start.service);
    ct__string_unref(start.resource);
    ct__string_unref(start.type);
    if (rc != CT_OK) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->started = 1;
    ct__span_set_parent_id(&self->span, remote.span_id);
    add_links(self, ct_arg_or_null(a[11]));
    if (ct_arg_or_null(a[9])) { /* kept as given: ddtrace's callers append later */
        Py_INCREF(a[9]);
        self->on_finish = a[9];
        /* a callback may close over the span: a cycle the GC must see */
        if (!PyObject_GC_IsTracked((PyObject *)self)) PyObject_GC_Track((PyObject *)self);
    }
    return (PyObject *)self;
}

PyTypeObject PySpan_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ddtrace.trace.Span",
    .tp_basicsize = sizeof(PySpan),
    .tp_dealloc = (destructor)Span_dealloc,
    .tp_repr = (reprfunc)Span_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A timed operation. Create with tracer.trace() or tracer.start_span(); "
              "Span(name, ...) builds one outside the tracer, never sent.",
    .tp_traverse = (traverseproc)Span_traverse,
    .tp_clear = (inquiry)Span_clear,
    .tp_weaklistoffset = offsetof(PySpan, weakrefs),
    .tp_methods = Span_methods,
    .tp_getset = Span_getset,
    .tp_new = Span_new,
};

int ct_ext_span_type_init(PyObject *module)
{
    if (PyType_Ready(&PySpan_Type) < 0) return -1;
    Py_INCREF(&PySpan_Type);
    return PyModule_AddObject(module, "Span", (PyObject *)&PySpan_Type);
}
