/*
 * ext.h — shared declarations of the CPython extension `ddtrace._ctrace`.
 *
 * The extension is a client of the C core through ctrace.h and the core's
 * internal API for bindings (ctrace_internal.h, the ct__ functions; it
 * includes no other core header): a Python Span embeds a ct_span,
 * the Tracer wraps a ct_tracer, and every piece of tracing logic (ids,
 * tags, segments, records, the writer) stays in src/core. What lives here is
 * what only Python has: converting Python objects to shared strings and tag
 * values as ddtrace does, the active span in a ContextVar, exceptions and
 * tracebacks, and the decorator.
 *
 * The types are static and the state is process-global on purpose: the
 * tracer is a per-process singleton (as in ddtrace), and the hot path
 * (trace, __enter__, __exit__) cannot afford a module-state lookup per
 * call. Subinterpreters are not supported. Every entry point runs with the
 * GIL held, which is also what makes the core's lock-free mode safe.
 */
#ifndef CT_EXT_H
#define CT_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ctrace.h"
#include "ctrace_internal.h"

typedef struct PySpan PySpan;

/* ddtrace.trace.Tracer */
typedef struct PyTracer {
    PyObject_HEAD ct_tracer *tracer;
    PyObject *weakrefs;
    PyObject *finish_hook; /* strong or NULL: set while trace processors
                                 are configured (ddtrace/_processors.py) */
} PyTracer;

/* ddtrace.trace.Span: a ct_span embedded in the Python object. */
struct PySpan {
    PyObject_HEAD ct_span span;
    PyTracer *tracer;    /* strong */
    PyObject *parent;    /* strong: the local parent Span, or NULL */
    PyObject *context;   /* strong, lazily created Context */
    PyObject *events;    /* list of span events (dicts) or NULL */
    PyObject *on_finish; /* list of callables or NULL: Span(on_finish=) */
    PyObject *weakrefs;
    uint8_t started;  /* the embedded span was started */
    uint8_t deferred; /* finished, not yet recorded: held by the
                                 tracer's finish_hook for trace processors */
};

/* ddtrace.trace.Context */
typedef struct PyTraceContext {
    PyObject_HEAD uint64_t trace_id_high, trace_id_low, span_id;
    PyObject *meta;       /* dict str -> str (trace-level, incl. _dd.origin) */
    PyObject *metrics;    /* dict str -> number (incl. _sampling_priority_v1) */
    PyObject *baggage;    /* dict */
    PyObject *span_links; /* list */
    ct_trace *trace;      /* the local segment it describes (a core
                                 reference, so no cycle with the span), or NULL */
    int is_remote;
} PyTraceContext;

extern PyTypeObject PySpan_Type;
extern PyTypeObject PyTracer_Type;
extern PyTypeObject PyTraceContext_Type;

/* The module's process-wide state. */
typedef struct ct_ext_state {
    PyObject *active;           /* the ContextVar holding the active Span/Context */
    PyObject *log_warning;      /* callable(msg) logging on "ddtrace" logger */
    PyObject *format_exception; /* traceback.format_exception */
} ct_ext_state;
extern ct_ext_state ct_ext;

/* -- strings.c: Python objects to shared strings ------------------------------ */

/* A shared string for a str, via a small cache of recently seen str objects
 * (names and keys are mostly literals). New reference, or NULL with no
 * exception set when the object is not a str or out of memory. */
ct_string *ct_ext_string(PyObject *str);
/* The shared string of a str the cache already holds, and the kind of tag
 * key it is (ct_ext_tag_key_kind, worked out when it was cached): set_tag's
 * short path. Borrowed: valid until the cache is next written to (any
 * ct_ext_string call may), so the caller takes its own reference before
 * then. NULL when str is not in the cache (any object but an exact str is
 * never there). Never converts, never fails. */
ct_string *ct_ext_cached_string(PyObject *str, int *tag_kind);
/* Decimal text of v, as str(int) writes it (0..1023 made once and shared).
 * New reference, or NULL when out of memory. */
ct_string *ct_ext_int_text(long long v);
/* str(value) as a shared string, ddtrace's way (lone surrogates replaced,
 * bytes decoded); NULL when str() itself raises: an Exception is cleared,
 * anything else (KeyboardInterrupt, SystemExit) is left set for the caller
 * to propagate, as ddtrace only catches Exception. */
ct_string *ct_ext_string_of(PyObject *value);
/* Called with an exception set by user code (__str__, __float__, ...):
 * clears it and returns 0 when it is an Exception (bad tag input is
 * ignored, as in ddtrace), else leaves it set and returns -1: the entry
 * point must then return NULL. */
int ct_ext_swallow_error(void);
/* A shared string as a Python str (new reference). */
PyObject *ct_ext_to_str(const ct_string *s);
/* Drops every cached string (fork, shutdown). */
void ct_ext_string_cache_clear(void);

/* -- span.c ------------------------------------------------------------------- */

/* Starts a new Python span. parent: a Span, a Context or None. */
PySpan *ct_ext_span_start(PyTracer *tracer, PyObject *name, PyObject *service, PyObject *resource,
                          PyObject *span_type, PyObject *parent, int activate);
/* Finishes the span (once); its first unfinished ancestor is active again. */
int ct_ext_span_finish(PySpan *span, int64_t finish_ns);
/* set_exc_info(type, value, tb) as ddtrace; never raises. */
void ct_ext_span_set_exc_info(PySpan *span, PyObject *type, PyObject *value, PyObject *tb);
/* The same without a traceback too (tb NULL or None): an exception a C
 * function raised to C has none, and is still the span's error. Never
 * raises. */
void ct_ext_span_record_error(PySpan *span, PyObject *type, PyObject *value, PyObject *tb);

/* How set_tag routes a key, decided from the key alone: a plain key sends
 * a str to meta and a number to metrics with no further look; a status key
 * (http.status_code) sends anything to meta as text; a special key
 * (manual.keep, service.name, network.destination.port, ...) needs ddtrace's
 * full routing. */
enum { CT_EXT_TAG_PLAIN, CT_EXT_TAG_STATUS, CT_EXT_TAG_SPECIAL };
/* The kind of a tag key (a CT_EXT_TAG_ value); any string, never fails. */
int ct_ext_tag_key_kind(const ct_string *key);

/* Span.set_tag(key, value), as ddtrace routes it (an int to metrics): bad
 * input is ignored; 0, or -1 with what set_tag lets propagate (a
 * KeyboardInterrupt raised by a value's __str__). */
int ct_ext_span_set_tag(PySpan *span, PyObject *key, PyObject *value);

/* (high << 64) | low as a Python int (new reference, NULL on error). */
PyObject *ct_ext_u128(uint64_t high, uint64_t low);

/* Does Span.set_tag route value to metrics (ints within 2**53, floats)?
 * Then *number is its value (NaN and infinities included: the caller drops
 * them, as set_metric does). Never raises. */
int ct_ext_number_tag(PyObject *value, double *number);

/* -- context.c ---------------------------------------------------------------- */

/* The Context describing a local span (new reference). */
PyObject *ct_ext_context_for_span(PySpan *span);

/* -- activation ---------------------------------------------------------------- */

/* The active Span or Context, skipping finished spans up to the first
 * unfinished parent (ddtrace's context_provider.active()). New reference to
 * the object, or a new reference to None. */
PyObject *ct_ext_active(void);
/* Makes obj (Span, Context or None) the active one. 0 or -1 with exception. */
int ct_ext_activate(PyObject *obj);

/* Logs a warning on the "ddtrace" logger; never raises. */
void ct_ext_warn(const char *format, ...);

int ct_ext_wrap_init(PyObject *module);
int ct_ext_propagation_init(PyObject *module);
int ct_ext_span_type_init(PyObject *module);
int ct_ext_tracer_type_init(PyObject *module);
int ct_ext_context_type_init(PyObject *module);

/* Defines `static int Type_traverse(Type *, visitproc, void *)` and
 * `static int Type_clear(Type *)` for a GC type whose references are all
 * PyObject fields, listed by FIELDS(X) as X(field) X(field) ...: the two
 * functions every such type needs, kept in step by construction. */
#define CT_EXT_GC_FIELD_VISIT(field) Py_VISIT(self->field);
#define CT_EXT_GC_FIELD_CLEAR(field) Py_CLEAR(self->field);
#define CT_EXT_DEFINE_GC_FIELDS(Type, FIELDS)                          \
    static int Type##_traverse(Type *self, visitproc visit, void *arg) \
    {                                                                  \
        FIELDS(CT_EXT_GC_FIELD_VISIT)                                  \
        return 0;                                                      \
    }                                                                  \
    static int Type##_clear(Type *self)                                \
    {                                                                  \
        FIELDS(CT_EXT_GC_FIELD_CLEAR)                                  \
        return 0;                                                      \
    }

#endif
