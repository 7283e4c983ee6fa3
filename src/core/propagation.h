/*
 * propagation — parsing and formatting the values of distributed-tracing
 * headers: Datadog (x-datadog-*), W3C trace context (traceparent,
 * tracestate's dd= member), B3 and W3C baggage.
 *
 * Pure functions over (pointer, length) byte strings: no allocation, no
 * global state, no Python. Every parser either accepts its whole input and
 * fills its outputs, or returns CT_EINVAL and leaves the outputs in a
 * defined "nothing extracted" state, so a malformed header can never yield
 * a half-valid context. Key/value lists are reported through a callback
 * (the caller decides where they go) and are only reported once the whole
 * value was validated. Deciding which style wins is the caller's job
 * (ddtrace.propagation.http); these are the pieces a fuzzer can target.
 * A binding calls every one of them, so they are declared in
 * ctrace_internal.h (with CT_PROP_DD_MEMBER_MAX); this header adds the
 * other limits they apply.
 */
#ifndef CT_PROPAGATION_H
#define CT_PROPAGATION_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"
#include "ctrace_internal.h" /* the parsers and formatters */

/* Limits of ddtrace. */
#define CT_PROP_DATADOG_TAGS_MAX 512 /* DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH */
#define CT_PROP_BAGGAGE_MAX_ITEMS 64
#define CT_PROP_BAGGAGE_MAX_BYTES 8192 /* ddtrace 4.x; the W3C spec says 8192 too */

#endif
