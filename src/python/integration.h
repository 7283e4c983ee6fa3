/*
 * integration.h — what the C wrappers of an integration share (TracedCall,
 * the ASGI middleware): the integration's service, cached, and the rule
 * for the tracing's own failures.
 *
 * The service follows the integration's settings as they change: the
 * cache remembers which setting objects it resolved the service from
 * (config.<integration>["service"] and ["service_name"], config's user
 * service, the service mapping's identity and size, the same key as
 * contrib/_web.py's cache) and asks the Python resolver again only when
 * one of them is another object. The resolver (`_web.resolved_service`)
 * returns (service, the service after DD_SERVICE_MAPPING, the first tags
 * dict: component and _dd.svc_src).
 *
 * Failure policy, as contrib/_safety.py states it for every integration:
 * an Exception raised by the tracing itself is reported to the
 * integration's `failed(integration, exc_info)` callable and cleared; a
 * BaseException that is not an Exception (KeyboardInterrupt) propagates.
 */
#ifndef CT_INTEGRATION_H
#define CT_INTEGRATION_H

#include "ext.h"

typedef struct ct_ext_integration {
    PyObject *int_config;  /* an IntegrationConfig (a dict subclass) */
    PyObject *global_dict; /* ddtrace.config's __dict__ */
    PyObject *resolve;     /* callable(int_config) -> (service, mapped, tags) */
    PyObject *failed;      /* callable(integration name, exc_info) */
    PyObject *name;        /* the integration's name */
    /* the service cache: strong references, NULL until resolved */
    PyObject *seen[4]; /* service, service_name, _user_service, service_mapping */
    Py_ssize_t seen_mapping_size;
    PyObject *service;      /* the integration's service (None for the default) */
    PyObject *mapped;       /* the spans' service, after DD_SERVICE_MAPPING */
    PyObject *service_tags; /* tuple of (key, value): component, _dd.svc_src */
} ct_ext_integration;

/* Fills *in (zeroed by the caller) with new references to int_config,
 * resolve and failed, and reads the integration's name and the global
 * config. 0, or -1 with an exception (*in then holds what it took: free it
 * with ct_ext_integration_clear). */
int ct_ext_integration_init(ct_ext_integration *in, PyObject *int_config, PyObject *resolve,
                            PyObject *failed);
/* The service cache is current after this (resolving again when a
 * setting changed). 0, or -1 with an exception, the cache left as it was. */
int ct_ext_integration_service(ct_ext_integration *in);
/* An Exception of the tracing itself goes to the failure counter and is
 * cleared (0); anything else stays set (-1). Call with an exception set. */
int ct_ext_integration_failed(ct_ext_integration *in);
int ct_ext_integration_traverse(ct_ext_integration *in, visitproc visit, void *arg);
void ct_ext_integration_clear(ct_ext_integration *in);

/* A dict's items as a tuple of (key, value) pairs (new reference); None
 * gives an empty tuple. NULL with a TypeError for anything else. */
PyObject *ct_ext_pairs_of(PyObject *dict);
/* Span.set_tag of every pair. 0, or -1 with an exception. */
int ct_ext_set_pairs(PySpan *span, PyObject *pairs);

#endif
