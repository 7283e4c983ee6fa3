/*
 * trace — a trace segment: the spans of one trace that live in this
 * process (dd-trace-cpp's "trace segment", ddtrace's local trace).
 *
 * Every span holds a reference to its segment. The segment counts its open
 * spans and gathers the records of finished ones; when the last open span
 * finishes, the segment is complete: it decides the sampling priority, puts
 * the chunk-level tags (priority, decision maker, `_dd.p.*`, language) on
 * the local root's record, and submits the chunk to the tracer's writer.
 * With partial flush, a segment holding many finished spans submits them
 * early, in chunks, so a long-running root never holds unbounded memory.
 *
 * Locking: the segment has a mutex for C programs that finish spans of one
 * trace on several threads; a tracer whose caller already serializes every
 * call (Python's GIL) skips it.
 */
#ifndef CT_TRACE_H
#define CT_TRACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "buffer.h"
#include "counters.h"
#include "ctrace.h"
#include "ctrace_internal.h"
#include "sampler.h"
#include "shared_string.h"
#include "tags.h"

typedef struct ct_trace {
    atomic_uint refcount;
    ct_tracer *tracer; /* not owned; outlives its segments */
    uint64_t trace_id_high, trace_id_low;
    uint64_t root_span_id;      /* the local root's id */
    const struct ct_span *root; /* the live local root until it finishes
                                       or is released: what the sampler reads */
    pthread_mutex_t lock;       /* used unless the tracer is lock-free */
    uint32_t open_spans;
    uint32_t record_count;
    uint32_t partial_flushes;
    int32_t sampling_priority;     /* CT_PRIORITY_UNSET until decided */
    ct_string *decision_maker;     /* "_dd.p.dm" value; NULL: default */
    ct_string *origin;             /* "_dd.origin"; NULL when none */
    ct_string *tracestate;         /* the remote parent's W3C tracestate;
                                       NULL when none */
    ct_sampling_decision sampling; /* valid when sampled_locally */
    uint8_t sampled_locally;       /* the sampler decided the priority */
    uint8_t detached;              /* never sent: a span built by hand
                                       (ct_span_start_args.detached) */
    ct_tags propagated;            /* trace-level "_dd.p.*" tags */
    ct_buffer records;             /* records of finished, unsent spans */
    unsigned fork_generation;      /* dropped when it is not the current one */
    struct ct_trace *spare;        /* next in the tracer's spare list */
} ct_trace;

/* A new segment with one reference (the caller's). NULL when out of memory.
 * A lock-free tracer recycles freed segments (and their record buffers):
 * a single-span trace then costs no malloc at all. */
ct_trace *ct__trace_new(ct_tracer *tracer, uint64_t trace_id_high, uint64_t trace_id_low);

/* Frees the tracer's spare segments (at tracer teardown). */
void ct__trace_free_spares(ct_tracer *tracer);

/* A span of this segment started. */
void ct__trace_span_opened(ct_trace *trace);

/* A span of this segment finished: serializes it into the segment and
 * completes the segment when no span is open any more. A span that cannot
 * be serialized (no memory) is dropped and counted. */
struct ct_span;
void ct__trace_record_span(ct_trace *trace, const struct ct_span *span);

/* An unfinished span of this segment was released: it will never be sent
 * (counted as dropped); the segment may complete without it. */
void ct__trace_abandon_span(ct_trace *trace);

/* The local root span is going away (released): the sampler must not read
 * it any more. */
void ct__trace_forget_root(ct_trace *trace, const struct ct_span *span);

/* The chunk-level tags a chunk of this segment starts with: the sampling
 * decision into chunk, the CT_RECORD_* flags of the implied ones
 * (returned), the rare others into extra (cleared first; it borrows the
 * segment's strings). An undecided priority becomes auto-keep. Can't fail. */
struct ct_extra_tags;
struct ct_record_chunk;
uint32_t ct__trace_chunk_tags(ct_trace *trace, struct ct_extra_tags *extra,
                              struct ct_record_chunk *chunk, uint32_t partial_flushes);

#endif
