/*
 * ctrace_internal.h — the core's API for its language bindings (the CPython
 * extension in src/python), beside the public one of include/ctrace.h.
 *
 * As in libuv (`uv_` public, `uv__` internal), the functions a binding
 * needs beyond ctrace.h carry a double underscore, `ct__`: they may change
 * with the core, and no C program should call them. A binding includes
 * ctrace.h and this header only. What it may use:
 *
 * - the span it embeds: `struct ct_span` is complete here (span.h) so that
 *   a binding's object can hold one by value, and span.h's lifecycle
 *   (ct_span_start, ct_span_start_detached, ct_span_stop_at,
 *   ct_span_finish_at, ct_span_release) and tag setters work on it. Its
 *   fields are read and written through the ct__span_* accessors below,
 *   static inline because the binding's hot path (tracer.trace(), finish,
 *   the active-span walk) reads them on every span;
 * - the core's value types and pure helpers: shared strings
 *   (shared_string.h), tag maps (tags.h), the tracer's derived tags
 *   (span_record.h), the clock (clock.h), ids (ids.h) and the propagation
 *   header parsers (propagation.h);
 * - the trace segment and the tracer as opaque types, through the ct__trace_*
 *   and ct__tracer_* functions below (defined in trace.c and tracer.c).
 *
 * Types and functions declared here are named ct__. Every ct__ function
 * expects what the binding guarantees: one caller at a time (the GIL);
 * none of them blocks.
 */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include <stdint.h>

#include "buffer.h"
#include "clock.h"
#include "ctrace.h"
#include "ids.h"
#include "propagation.h"
#include "shared_string.h"
#include "span.h"
#include "span_record.h"
#include "tags.h"

/* -- process ------------------------------------------------------------- */

/* Declares that every call into the core holds one lock (the GIL): counts
 * and references then skip locked instructions (counters.h). Call once,
 * before the first tracer exists. Can't fail. */
void ct__use_single_lock(void);

/* -- tracer -------------------------------------------------------------- */

/* Options of a binding's tracer, beyond the config. */
typedef struct ct__tracer_options {
    int lock_free;               /* every call made under one lock (the GIL) */
    const char *language;        /* "python" */
    const char *default_service; /* when DD_SERVICE is unset */
} ct__tracer_options;

/* ct_tracer_new with options (NULL: defaults). NULL and *rc on failure. */
ct_tracer *ct__tracer_new_with(const ct_config *config, const ct__tracer_options *options, int *rc);

/* Stops sending: spans after this are not sent. Flushes with a deadline
 * (ms, <0 forever). The tracer stays valid until ct_tracer_free. */
void ct__tracer_shutdown(ct_tracer *tracer, int timeout_ms);

/* Adds (or replaces) the DD_SERVICE_MAPPING entry from -> to
 * (NUL-terminated, copied). CT_OK or CT_ENOMEM. Not safe while other
 * threads start spans of this tracer: call it before they do, or under the
 * caller's lock (the GIL). */
int ct__tracer_map_service_to(ct_tracer *tracer, const char *from, const char *to);

/* Puts a string (meta) or number (metric) tag on every span started
 * afterwards (the span takes its own references). CT_OK or CT_ENOMEM. */
int ct__tracer_set_global_meta(ct_tracer *tracer, ct_string *key, ct_string *value);
int ct__tracer_set_global_metric(ct_tracer *tracer, ct_string *key, double value);

/* Sending on or off (spans of a disabled tracer are not sent). */
int ct__tracer_enabled(const ct_tracer *tracer);
void ct__tracer_set_enabled(ct_tracer *tracer, int enabled);

/* The default service (borrowed; never NULL) and the agent URL (borrowed,
 * NUL-terminated), as finalized from the config. */
ct_string *ct__tracer_service(const ct_tracer *tracer);
const char *ct__tracer_agent_url(const ct_tracer *tracer);

/* Are new trace ids 128-bit (DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED)? */
int ct__tracer_trace_id_128(const ct_tracer *tracer);

/* The keys of the error tags (error.type, error.message, error.stack),
 * made once per tracer; borrowed. */
typedef struct ct__error_keys {
    ct_string *type, *message, *stack;
} ct__error_keys;
ct__error_keys ct__tracer_error_keys(const ct_tracer *tracer);

/* What the in-memory writer (_CT_IN_MEMORY_WRITER=1) holds, encoded as the
 * agent would receive it (api_version 4 or 5) into payload (caller-owned,
 * appended to), with its trace count in *chunks; the writer is emptied.
 * CT_OK, CT_ESTATE when the tracer has another writer, CT_ENOMEM. */
int ct__tracer_take_payload(ct_tracer *tracer, int api_version, ct_buffer *payload,
                            uint32_t *chunks);

/* -- trace segment ------------------------------------------------------- */

/* A reference to the segment (the caller's to drop with ct__trace_unref),
 * so that a binding's object can describe it after its spans are gone. */
ct_trace *ct__trace_ref(ct_trace *trace);
/* Accepts NULL. */
void ct__trace_unref(ct_trace *trace);

/* The sampling priority, CT_PRIORITY_UNSET until decided. */
int ct__trace_sampling_priority(const ct_trace *trace);
/* Sets the sampling priority and, unless NULL, the decision maker (copied;
 * "-4" for the user's keep/drop). Can't fail: a decision maker that cannot
 * be copied is left unset. */
void ct__trace_set_priority(ct_trace *trace, int priority, const char *decision_maker);
/* Asks the sampler for a priority if nobody decided one yet (manual
 * keep/drop, a remote parent), looking at the live local root if there is
 * one. Done when the first chunk is sent, or earlier by propagation, which
 * must send a decision. Can't fail. */
void ct__trace_decide_sampling(ct_trace *trace);

/* The trace-level `_dd.p.*` tags: read (borrowed) and set (the segment
 * takes its own references; CT_OK or CT_ENOMEM). */
const ct_tags *ct__trace_propagated(const ct_trace *trace);
int ct__trace_set_propagated(ct_trace *trace, ct_string *key, ct_string *value);
/* The `_dd.p.dm` value as of now (borrowed), or NULL when none. */
const char *ct__trace_decision_maker(const ct_trace *trace);

/* The remote parent's `_dd.origin` and W3C tracestate (borrowed), NULL
 * when none. */
ct_string *ct__trace_origin(const ct_trace *trace);
ct_string *ct__trace_tracestate(const ct_trace *trace);

/* Spans of the segment started and not yet recorded or abandoned. */
uint32_t ct__trace_open_spans(const ct_trace *trace);

/* -- the embedded span --------------------------------------------------- */

/* The span's segment (borrowed), NULL before start. */
static inline ct_trace *ct__span_trace(const ct_span *span) { return span->trace; }

static inline int ct__span_finished(const ct_span *span) { return span->finished; }
static inline int ct__span_local_root(const ct_span *span) { return span->local_root; }
static inline uint64_t ct__span_id(const ct_span *span) { return span->span_id; }

/* 0 for a root. Setting it only changes what the span reports. */
static inline uint64_t ct__span_parent_id(const ct_span *span) { return span->parent_id; }
static inline void ct__span_set_parent_id(ct_span *span, uint64_t id) { span->parent_id = id; }

/* Wall-clock start, epoch ns. Setting it makes the duration come from wall
 * time too (the monotonic start no longer applies). */
static inline int64_t ct__span_start_ns(const ct_span *span) { return span->start_ns; }
static inline void ct__span_set_start_ns(ct_span *span, int64_t ns)
{
    span->start_ns = ns;
    span->start_monotonic_ns = 0;
}

/* -1 until finished. */
static inline int64_t ct__span_duration_ns(const ct_span *span) { return span->duration_ns; }
static inline void ct__span_set_duration_ns(ct_span *span, int64_t ns) { span->duration_ns = ns; }

static inline int ct__span_error(const ct_span *span) { return span->error; }
static inline void ct__span_set_error(ct_span *span, int error) { span->error = error; }

/* The strings (borrowed; service, resource and type may be NULL, and
 * ct_span_resource falls back to the name). The setters take the caller's
 * reference to value (NULL clears) and drop the old one. */
static inline ct_string *ct__span_name(const ct_span *span) { return span->name; }
static inline ct_string *ct__span_service(const ct_span *span) { return span->service; }
static inline ct_string *ct__span_type(const ct_span *span) { return span->type; }
static inline void ct__span_set_name(ct_span *span, ct_string *value)
{
    ct_string_assign(&span->name, value);
}
static inline void ct__span_set_service(ct_span *span, ct_string *value)
{
    ct_string_assign(&span->service, value);
}
static inline void ct__span_set_resource(ct_span *span, ct_string *value)
{
    ct_string_assign(&span->resource, value);
}
static inline void ct__span_set_type(ct_span *span, ct_string *value)
{
    ct_string_assign(&span->type, value);
}

/* The span's own tags, for reading (set them with ct_span_set_meta & co). */
static inline const ct_tags *ct__span_tags(const ct_span *span) { return &span->tags; }

/* The span's links, in order (ct_span_add_link adds them). */
static inline uint32_t ct__span_link_count(const ct_span *span) { return span->link_count; }
static inline const ct_link *ct__span_link(const ct_span *span, uint32_t i)
{
    return &span->links[i];
}

/* A span stopped with ct_span_stop_at is recorded in its segment (which
 * may complete it) or abandoned (never sent, counted as dropped). */
void ct__span_record_stopped(ct_span *span);
void ct__span_abandon_stopped(ct_span *span);

#endif
