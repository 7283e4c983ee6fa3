/*
 * traced_call.h — the integrations' span around one call, as a C object.
 *
 * Most spans an integration makes are "plain": a span of a fixed name
 * (flask.dispatch_request, a view, a hook, a Starlette handler) around one
 * call of the framework's function, with the integration's service and its
 * fixed tags (component, _dd.svc_src, flask.signal...). Written in Python,
 * each costs two interpreter frames (wrapt's wrapper, the helper that
 * starts the span) and a dozen attribute lookups, ten times the span
 * itself. `ddtrace._ctrace.TracedCall` is that wrapper in C: wrapt's
 * FunctionWrapper keeps doing what makes a patch transparent (inspect,
 * binding, isinstance) and calls it as `wrapper(wrapped, instance, args,
 * kwargs)`; the call starts the span, calls the wrapped function, records
 * an escaping exception (re-raised unchanged) and finishes the span on
 * every path, without a Python frame.
 *
 * The service follows the integration's settings as they change: the
 * object remembers which setting objects it resolved the service from and
 * asks the Python resolver again only when one of them is another object
 * (integration_span.h's service cache).
 *
 * `ddtrace._ctrace.MappedResult(func)` is a second such wrapper: the
 * wrapped call's result with each item passed through func (map()), for
 * Flask's signal receivers, asked for on every send.
 */
#ifndef CT_TRACED_CALL_H
#define CT_TRACED_CALL_H

#include "ext.h"

/* Adds the TracedCall and MappedResult types to the module. 0, or -1 with an exception. */
int ct_ext_traced_call_init(PyObject *module);

#endif
