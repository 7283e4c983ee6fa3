/*
 * wsgi_response.h — the response iterable of a traced WSGI request, in C.
 *
 * A WSGI app returns an iterable the server drains and then closes; the
 * request is over only then, not when the app returns (a body may stream
 * long after). `ddtrace._ctrace.WsgiResponse(wrapped, request_span,
 * response_span, failed, integration)` stands for the app's iterable:
 * iterating it iterates the app's; the iteration's end (exhausted, or an
 * Exception, which is recorded on the response span and goes on
 * unchanged) finishes the response span then the request span, as ddtrace
 * 4.16's iterable does; close() calls the app's iterable's close() when
 * it has one (PEP 3333: the iterable's own, once per call of ours, where
 * ddtrace closes only the iterator it took) and finishes the spans if
 * they are not yet; a response dropped unclosed finishes them when it is
 * collected. Any other attribute, `__class__` included, is the app's
 * iterable's (as the wrapt ObjectProxy it replaces answered), so a server
 * still recognises its own file wrapper.
 *
 * Written in Python this was six frames per request (__init__, __iter__,
 * __next__ twice, close, the finish), a fifth of Flask's tracing cost.
 *
 * Failure policy: integration_span.h's. A failure to finish a span is
 * reported to failed(integration, exc_info) and cleared; the app's own
 * exceptions, from iteration or close(), pass through unchanged.
 */
#ifndef CT_WSGI_RESPONSE_H
#define CT_WSGI_RESPONSE_H

#include "ext.h"

/* Adds the WsgiResponse type to the module. 0, or -1 with an exception. */
int ct_ext_wsgi_response_init(PyObject *module);

#endif
