/*
 * integration_span.h — what the C wrappers of integrations share: the
 * integration's service, cached against its settings; the wrapt call
 * convention; failures of the tracing reported to contrib/_safety.py; the
 * wrapped call's exception recorded on the span and re-raised unchanged.
 *
 * TracedCall (traced_call.h: a plain span around one call), RedisCommand
 * (redis_command.h: redis-py's execute_command), DbCursorMethod
 * (db_cursor.h: a DB-API cursor's execute) and the ASGI middleware (asgi.h)
 * are built from these.
 *
 * Service cache: the key is the identity of the integration's settings a
 * span's service depends on (config.<integration>["service"],
 * ["service_name"], ["_default_service"], ["split_by_domain"], config's
 * _user_service and service_mapping) and the mapping's size, compared by
 * identity, as contrib/_web.py's `_resolved` does. A changed key makes the
 * cache call its Python resolver `resolve(int_config)` again, which returns
 * (service, the service after DD_SERVICE_MAPPING, the first tags dict).
 * The cache holds strong references; its owner traverses and clears it.
 */
#ifndef CT_INTEGRATION_SPAN_H
#define CT_INTEGRATION_SPAN_H

#include "ext.h"

#define CT_EXT_SERVICE_SETTINGS 6

typedef struct ct_ext_service_cache {
    PyObject *seen[CT_EXT_SERVICE_SETTINGS]; /* the settings resolved under, NULL before */
    Py_ssize_t seen_mapping_size;
    PyObject *service; /* the integration's service, before the mapping, NULL before */
    PyObject *mapped;  /* the spans' service (None for the default), NULL before */
    PyObject *tags;    /* tuple of (key, value): the resolver's tags, NULL before */
} ct_ext_service_cache;

/* Sets up the interned names the helpers use. 0, or -1 with an exception. */
int ct_ext_integration_span_init(void);

/* Brings the cache up to date with int_config (an IntegrationConfig, a dict)
 * and global_dict (ddtrace.config's __dict__), calling resolve only when a
 * setting changed. 0, or -1 with an exception (the cache is left as it was). */
int ct_ext_service_cache_ensure(ct_ext_service_cache *cache, PyObject *int_config,
                                PyObject *global_dict, PyObject *resolve);

/* What every integration wrapper holds: the tracer, the integration's
 * config, its service cache, and where failures of the tracing go. */
typedef struct ct_ext_integration {
    PyTracer *tracer;
    PyObject *int_config;  /* an IntegrationConfig (a dict subclass) */
    PyObject *global_dict; /* ddtrace.config's __dict__ */
    PyObject *resolve;     /* callable(int_config) -> (service, mapped, tags) */
    PyObject *failed;      /* callable(integration name, exc_info) */
    PyObject *integration; /* the integration's name */
    ct_ext_service_cache service;
} ct_ext_integration;

/* Fills a zeroed ct_ext_integration (strong references; tracer a Tracer,
 * int_config a dict with an integration_name and a global_config, resolve
 * and failed callables). 0, or -1 with an exception: the caller still
 * clears it. */
int ct_ext_integration_init(ct_ext_integration *it, PyObject *tracer, PyObject *int_config,
                            PyObject *resolve, PyObject *failed);
int ct_ext_integration_traverse(ct_ext_integration *it, visitproc visit, void *arg);
void ct_ext_integration_clear(ct_ext_integration *it);
/* Is the tracer on? Never raises. */
int ct_ext_integration_enabled(const ct_ext_integration *it);
/* ct_ext_service_cache_ensure for this integration. 0, or -1 with an exception. */
int ct_ext_integration_ensure_service(ct_ext_integration *it);

/* A dict's items as a tuple of pairs (None: an empty tuple). New reference,
 * NULL with an exception. */
PyObject *ct_ext_tag_pairs(PyObject *dict);
/* Span.set_tag for each (key, value) of pairs (NULL: none). 0, or -1 with an
 * exception (a malformed pair; what set_tag lets propagate). */
int ct_ext_set_tag_pairs(PySpan *span, PyObject *pairs);

/* Span.set_tag for each item of a dict the caller holds. 0, or -1 with what
 * set_tag lets propagate. */
int ct_ext_set_dict_tags(PySpan *span, PyObject *tags);

/* Checks the wrapt convention (wrapped, instance, args tuple, kwargs dict):
 * 1, or 0 with a TypeError naming `who`. */
int ct_ext_wrapper_args_ok(const char *who, PyObject *const *args, size_t nargsf,
                           PyObject *kwnames);
/* wrapped(*args, **kwargs); an empty kwargs is not passed on. New
 * reference, or NULL with the call's exception. */
PyObject *ct_ext_call_wrapped(PyObject *wrapped, PyObject *args, PyObject *kwargs);

/* The tracing failed with the exception set: an Exception goes to
 * failed(integration, exc_info) and is cleared (0); anything else
 * (KeyboardInterrupt) stays set (-1). Never raises otherwise. */
int ct_ext_report_failure(PyObject *failed, PyObject *integration);

/* The wrapped call failed with the exception set: records it on the span
 * (unless it matches `ignored`, a tuple of types, or NULL), finishes the
 * span and leaves the same exception set, with its traceback. */
void ct_ext_finish_with_error(PySpan *span, PyObject *ignored);

/* Records the pending exception (normalized, its traceback attached) on
 * the span, as set_exc_info; it stays set. Never fails. */
void ct_ext_record_error(PySpan *span);

/* Finishes a span that must not stay active (its setup failed), keeping
 * the exception set. */
void ct_ext_finish_keeping_error(PySpan *span);

/* -- a C method in a class, in place of a Python one ------------------------------ */

/* The head of such a method object: the method it replaces first, so the
 * pieces below serve every such type. */
typedef struct ct_ext_method {
    PyObject_HEAD PyObject *wrapped; /* the method replaced */
} ct_ext_method;

/* tp_descr_get binding like a function: a method of obj (itself on the
 * class). New reference; never fails but out of memory. */
PyObject *ct_ext_method_descr_get(PyObject *self, PyObject *obj, PyObject *type);

/* __wrapped__, __name__, __qualname__, __module__, __doc__ of the method
 * replaced (inspect follows __wrapped__; unpatch puts it back): the
 * tp_getset of a type whose objects start as ct_ext_method. */
extern PyGetSetDef ct_ext_method_getset[];

/* "<Type tracing wrapped>": the tp_repr of such a type. New reference, NULL
 * with an exception. */
PyObject *ct_ext_method_repr(PyObject *self);

/* The slots every such type has: called by vectorcall through `vectorcall`
 * (a field of Type), bound like a function, looking like the method it
 * replaces. METHOD_DESCRIPTOR: obj.method(...) calls it with obj first,
 * without a bound method object. */
#define CT_EXT_METHOD_TYPE_SLOTS(Type)                                                 \
    .tp_vectorcall_offset = offsetof(Type, vectorcall), .tp_call = PyVectorcall_Call,  \
    .tp_repr = ct_ext_method_repr,                                                     \
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | \
                Py_TPFLAGS_METHOD_DESCRIPTOR,                                          \
    .tp_descr_get = ct_ext_method_descr_get, .tp_getset = ct_ext_method_getset

#endif
