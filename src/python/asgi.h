/*
 * asgi.h — the ASGI middleware's request span, in C.
 *
 * `ddtrace._ctrace.AsgiMiddleware` is the base of contrib/asgi's
 * `TraceMiddleware` (an ASGI 3 app wrapping another): calling it with an
 * HTTP scope returns an awaitable that, when first run, starts the
 * request span (active while the app runs), calls the app with a `send`
 * of its own, records an exception escaping the app (re-raised unchanged)
 * and finishes the span; other scopes (lifespan, websocket) go to the app
 * untouched. The `send` it passes tags `http.response.start` (status,
 * `http_server.error_statuses`) and finishes the span once the last body
 * message went out; other messages pass with a dict lookup or two.
 *
 * Written in Python this was three frames and some sixty calls per
 * request, most of a FastAPI request's tracing cost. The common request
 * (no propagation header, no header tags, no query string, an int status)
 * now runs no Python frame of ours. What is rare or long calls the
 * Python helpers of ddtrace/contrib/asgi/middleware.py (the `_c_*`
 * functions of the module given as `helpers`), only when present:
 * propagation headers (extraction and activation), header tags, a query
 * string or a URL with `?` or `@` (obfuscation), a status that is not an
 * int, a service changed during the request, and the span modifier and
 * exception handler a framework passes. Starlette's router names the span
 * through `scope["datadog"]`, as before.
 *
 * Failure policy: integration_span.h's. A failure before the span is set up
 * serves the request untraced; a failure while tagging leaves a span with
 * fewer tags that still ends. The app's own exceptions, and the awaitable
 * protocol (send, throw, close), pass through unchanged.
 */
#ifndef CT_ASGI_H
#define CT_ASGI_H

#include "ext.h"

/* Adds the AsgiMiddleware type to the module. 0, or -1 with an exception. */
int ct_ext_asgi_init(PyObject *module);

#endif
