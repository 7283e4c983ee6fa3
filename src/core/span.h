/*
 * span — one timed operation, as it lives while it runs.
 *
 * The caller owns the memory of a ct_span (the Python Span object embeds
 * one); the span holds a reference to its trace segment and to its shared
 * strings. ct_span_finish stamps the duration and serializes the span into
 * a flat record appended to its segment (span_record.h), so everything the
 * agent will see is fixed at finish; the live span stays readable until
 * ct_span_release. Releasing a span that was never finished abandons it:
 * the rest of its trace is still sent, and the span is counted as dropped.
 */
#ifndef CT_SPAN_H
#define CT_SPAN_H

#include <stdint.h>

#include "ctrace.h"
#include "shared_string.h"
#include "tags.h"

typedef struct ct_trace ct_trace;

typedef struct ct_link {
    uint64_t trace_id_high, trace_id_low, span_id;
    uint32_t flags;        /* bit 31 set when given */
    ct_string *tracestate; /* may be NULL */
    ct_tags attributes;    /* meta only */
} ct_link;

struct ct_span {
    ct_trace *trace; /* owned reference; NULL before start */
    uint64_t span_id, parent_id;
    int64_t start_ns;                            /* wall clock, epoch ns */
    int64_t start_monotonic_ns;                  /* 0: measure the duration on wall time */
    int64_t duration_ns;                         /* -1 until finished */
    ct_string *name, *service, *resource, *type; /* owned; resource NULL = name */
    ct_string *parent_service;                   /* owned; NULL for a local root */
    ct_tags tags;
    ct_link *links;
    uint32_t link_count, link_capacity;
    int32_t error;
    uint8_t finished;
    uint8_t local_root;
};

/* What a span starts with. Strings are borrowed (the span takes its own
 * references); service NULL means the parent's, else the tracer's. */
typedef struct ct_span_start_args {
    ct_string *name, *service, *resource, *type;
    const ct_span *parent;          /* local parent or NULL */
    const ct_remote_parent *remote; /* used when parent is NULL; may be NULL */
    int64_t start_ns;               /* 0: now */
} ct_span_start_args;

/* Starts span (caller-owned memory, contents ignored) in tracer. CT_OK, or
 * CT_ENOMEM with span left released (safe to ct_span_release again) and
 * counted in spans_dropped. */
int ct_span_start(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args);

/* Starts a detached span: ddtrace's `Span(...)` built by hand, outside the
 * tracer. It starts a segment of its own (args->parent is ignored; remote
 * as for ct_span_start), with span_id (0: a random one), exactly
 * args->service (no default, no mapping), none of the tracer's tags, and
 * the segment is never sent. Kept apart from ct_span_start so that the
 * hot path does not test for it. Same results as ct_span_start. */
int ct_span_start_detached(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args,
                           uint64_t span_id);

/* Finishes at finish_ns (0: now) and records the span in its segment, which
 * may complete the trace and hand it to the writer. CT_ESTATE if already
 * finished; the span is finished whatever else fails (drops are counted). */
int ct_span_finish_at(ct_span *span, int64_t finish_ns);

/* The first half of ct_span_finish_at: finished, with its duration, but not
 * yet recorded; the segment still counts it open. The caller records it
 * later with ct_trace_record_span, or gives it up with
 * ct_trace_abandon_span (trace processors need the finished spans of a
 * segment before any is serialized). CT_ESTATE if already finished. */
int ct_span_stop_at(ct_span *span, int64_t finish_ns);

/* Frees what the span owns; abandons it if unfinished. Idempotent. */
void ct_span_release(ct_span *span);

/* Tag setters on shared strings (the span takes its own references).
 * CT_OK, or CT_ENOMEM when the tag could not be stored: the span keeps its
 * other tags and the loss is counted (ct_tracer_stats.tags_dropped). */
int ct_span_set_meta(ct_span *span, ct_string *key, ct_string *value);
int ct_span_set_metric_s(ct_span *span, ct_string *key, double value);
/* ct_span_set_meta taking the caller's reference to value (see
 * ct_tags_set_meta_taking). */
int ct_span_set_meta_taking(ct_span *span, ct_string *key, ct_string *value);

/* Counts one tag of span lost to an allocation failure before it reached a
 * setter (its key or value could not be copied); returns CT_ENOMEM. */
int ct_span_tag_lost(ct_span *span);

/* Adds a link (copied). CT_OK or CT_ENOMEM. A link to the same span id
 * replaces the earlier one, as in ddtrace. */
int ct_span_add_link(ct_span *span, const ct_link *link);

/* Appends the span's record (span_record.h) to out, with the tags its
 * place in the trace implies and the tags already in extra. When the span
 * opens a chunk, chunk is the chunk's sampling decision and chunk_flags the
 * CT_RECORD_* flags it implies (else NULL and 0). extra is the caller's
 * scratch: the derived tags are appended to it, so it is changed (it is
 * not copied: it is over a kilobyte and this runs once per span). CT_OK or
 * CT_ENOMEM/CT_ENOSPC (out unchanged). */
struct ct_extra_tags;
struct ct_record_chunk;
int ct_span_serialize(const ct_span *span, struct ct_extra_tags *extra,
                      const struct ct_record_chunk *chunk, uint32_t chunk_flags, ct_buffer *out);

/* The tags the tracer adds to this span as of now, for readers (ddtrace's
 * get_tag/get_metrics show them): what its record will imply (into
 * implied) and the rare derived ones (into extra), computed from the span's
 * flags and its segment's decision rather than stored, so the hot path
 * never writes them (span_record.h). An open local root shows runtime-id
 * and process_id; a finished span also `_dd.top_level`, `_dd.base_service`,
 * `_dd.origin`, and a finished local root the chunk's sampling tags, as in
 * ddtrace. A detached span has none. Reads the segment without its lock:
 * for callers that serialize every call (the Python layer). Can't fail. */
struct ct_implied_tags;
void ct_span_tracer_tags(const ct_span *span, struct ct_extra_tags *extra,
                         struct ct_implied_tags *implied);

/* The resource as seen by users: the resource, or the name when unset. */
static inline ct_string *ct_span_resource(const ct_span *span)
{
    return span->resource ? span->resource : span->name;
}

#endif
