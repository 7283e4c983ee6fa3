/*
 * trace.c — trace segments (see trace.h).
 *
 * A segment's finished spans wait as records in one buffer. When the
 * segment completes (or a partial flush is due) the records become a chunk:
 * the local root's record is rewritten first with the chunk-level tags
 * (sampling priority, decision maker, `_dd.p.*`, language; ddtrace puts
 * them on a chunk's first span), the others follow unchanged, and the chunk
 * is submitted to the writer in one call. The segment's buffer is then
 * reused, so a long-running root that partially flushes holds at most a
 * partial-flush's worth of records.
 */
#include "trace.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sampler.h"
#include "span.h"
#include "span_record.h"
#include "tracer.h"
#include "writer.h"

#define PRIORITY_AUTO_KEEP 1

/* Spare segments kept per lock-free tracer: enough for the traces a busy
 * thread has open at once, small enough to never matter in memory. */
#define SPARE_TRACES_MAX 64
/* A spare keeps its records buffer up to this capacity. */
#define SPARE_RECORDS_MAX 4096

static ct_trace *take_spare(ct_tracer *tracer)
{
    ct_trace *trace = tracer->spare_traces;
    if (!trace) return ct__calloc(1, sizeof *trace);
    tracer->spare_traces = trace->spare;
    tracer->spare_count--;
    ct_buffer records = trace->records; /* keeps its capacity, len is 0 */
    memset(trace, 0, sizeof *trace);
    trace->records = records;
    return trace;
}

/* Keeps a dead segment for reuse when the tracer allows it; else frees it. */
static void give_back(ct_trace *trace)
{
    ct_tracer *tracer = trace->tracer;
    if (!tracer->lock_free || tracer->spare_count >= SPARE_TRACES_MAX) {
        ct__buffer_release(&trace->records);
        ct__free(trace);
        return;
    }
    if (trace->records.capacity > SPARE_RECORDS_MAX) ct__buffer_release(&trace->records);
    ct__buffer_clear(&trace->records);
    trace->spare = tracer->spare_traces;
    tracer->spare_traces = trace;
    tracer->spare_count++;
}

void ct__trace_free_spares(ct_tracer *tracer)
{
    while (tracer->spare_traces) {
        ct_trace *trace = tracer->spare_traces;
        tracer->spare_traces = trace->spare;
        ct__buffer_release(&trace->records);
        ct__free(trace);
    }
    tracer->spare_count = 0;
}

ct_trace *ct__trace_new(ct_tracer *tracer, uint64_t trace_id_high, uint64_t trace_id_low)
{
    ct_trace *trace = tracer->lock_free ? take_spare(tracer) : ct__calloc(1, sizeof *trace);
    if (!trace) return NULL;
    atomic_init(&trace->refcount, 1);
    trace->tracer = tracer;
    trace->trace_id_high = trace_id_high;
    trace->trace_id_low = trace_id_low;
    trace->sampling_priority = CT_PRIORITY_UNSET;
    trace->fork_generation = ct__tracer_fork_generation();
    if (!tracer->lock_free) pthread_mutex_init(&trace->lock, NULL);
    return trace;
}

static void lock(ct_trace *trace)
{
    if (!trace->tracer->lock_free) pthread_mutex_lock(&trace->lock);
}

static void unlock(ct_trace *trace)
{
    if (!trace->tracer->lock_free) pthread_mutex_unlock(&trace->lock);
}

void ct__trace_unref(ct_trace *trace)
{
    if (!trace) return;
    if (ct__ref_decrement(&trace->refcount) != 1) return;
    if (trace->record_count) ct__tracer_count_drop(trace->tracer, trace->record_count);
    ct__string_unref(trace->decision_maker);
    ct__string_unref(trace->origin);
    ct__string_unref(trace->tracestate);
    ct__tags_clear(&trace->propagated);
    if (!trace->tracer->lock_free) pthread_mutex_destroy(&trace->lock);
    give_back(trace);
}

void ct__trace_span_opened(ct_trace *trace)
{
    lock(trace);
    trace->open_spans++;
    unlock(trace);
}

void ct__trace_set_priority(ct_trace *trace, int priority, const char *decision_maker)
{
    lock(trace);
    trace->sampling_priority = priority;
    if (decision_maker)
        ct__string_assign(&trace->decision_maker,
                          ct__string_new(decision_maker, strlen(decision_maker)));
    unlock(trace);
}

/* -- sampling ---------------------------------------------------------------- */

static void decide_sampling(ct_trace *trace, const ct_span *root)
{
    if (trace->sampling_priority != CT_PRIORITY_UNSET) return;
    ct_sampling_subject subject = {.trace_id_low = trace->trace_id_low};
    if (root) {
        subject.service = root->service;
        subject.name = root->name;
        subject.resource = ct__span_resource(root);
        subject.tags = &root->tags;
        const ct_string *env = ct__tags_get_meta(&root->tags, "env", 3);
        subject.env = env ? env->data : NULL;
    }
    ct__sampler_decide(trace->tracer->sampler, &subject, 0, &trace->sampling);
    trace->sampling_priority = trace->sampling.priority;
    trace->sampled_locally = 1;
}

void ct__trace_decide_sampling(ct_trace *trace)
{
    lock(trace);
    decide_sampling(trace, trace->root);
    unlock(trace);
}

void ct__trace_forget_root(ct_trace *trace, const ct_span *span)
{
    lock(trace);
    if (trace->root == span) trace->root = NULL;
    unlock(trace);
}

/* -- chunks ------------------------------------------------------------------ */

/* The tags explaining a local decision (ddtrace's _set_sampling_tags) that
 * the record does not imply: the default and agent-rate mechanisms are
 * implied (_dd.p.dm, _dd.agent_psr), a rule's rates and ksr are tags. The
 * agent_psr of the default mechanism is the protocol's, which ddtrace
 * 2.x/3.x sent too. */
static uint32_t sampling_tags(const ct_trace *trace, ct_extra_tags *extra)
{
    const ct_sampling_decision *d = &trace->sampling;
    uint32_t flags = CT_RECORD_AUTO_DM;
    if (d->mechanism == CT_SAMPLING_RULE) {
        ct__extra_metric(extra, "_dd.rule_psr", 12, d->rate);
        if (d->limit_rate >= 0) ct__extra_metric(extra, "_dd.limit_psr", 13, d->limit_rate);
    } else {
        flags |= CT_RECORD_AGENT_PSR;
    }
    if (d->ksr[0]) ct__extra_meta(extra, "_dd.p.ksr", 9, d->ksr, strlen(d->ksr));
    return flags;
}

/* The chunk-level tags of this segment: the decision into chunk, the
 * CT_RECORD_* flags for the implied ones (returned), the rare others into
 * extra, borrowing the segment's strings. The priority was decided before
 * (decide_sampling); a decision made here (manual, local) replaces a
 * propagated `_dd.p.dm`. */
uint32_t ct__trace_chunk_tags(ct_trace *trace, ct_extra_tags *extra, ct_record_chunk *chunk,
                              uint32_t partial_flushes)
{
    const ct_tracer_keys *k = &trace->tracer->keys;
    uint32_t flags = 0;
    if (trace->sampling_priority == CT_PRIORITY_UNSET)
        trace->sampling_priority = PRIORITY_AUTO_KEEP;
    chunk->priority = trace->sampling_priority;
    chunk->mechanism = trace->sampling.mechanism < 0 ? 0 : (uint32_t)trace->sampling.mechanism;
    chunk->rate = trace->sampling.rate;
    extra->meta_count = extra->metric_count = 0;
    int own_decision = trace->decision_maker || trace->sampled_locally;
    for (uint32_t i = 0; i < trace->propagated.meta_count; i++) {
        const ct_meta_entry *e = &trace->propagated.meta[i];
        if (own_decision && ct__string_equals(e->key, "_dd.p.dm", 8)) continue;
        ct__extra_meta(extra, e->key->data, e->key->len, e->value->data, e->value->len);
    }
    if (trace->decision_maker)
        ct__extra_meta(extra, k->decision_maker->data, k->decision_maker->len,
                       trace->decision_maker->data, trace->decision_maker->len);
    else if (trace->sampled_locally) flags |= sampling_tags(trace, extra);
    if (partial_flushes) ct__extra_metric(extra, "_dd.py.partial_flush", 20, partial_flushes);
    return flags;
}

/* Offset of the local root's record in the segment, or 0 (the first). */
static size_t root_offset(const ct_trace *trace)
{
    size_t offset = 0;
    const ct_buffer *records = &trace->records;
    while (offset + sizeof(ct_record_header) <= records->len) {
        ct_record_header header;
        memcpy(&header, records->data + offset, sizeof header);
        if (header.span_id == trace->root_span_id) return offset;
        offset += header.size;
    }
    return 0;
}

/* Builds the chunk (root record rewritten first, then the rest) in out. */
static int build_chunk(ct_trace *trace, uint32_t partial_flushes, ct_buffer *out)
{
    const ct_buffer *records = &trace->records;
    size_t root = root_offset(trace);
    ct_record_reader reader;
    size_t root_size = ct__record_open(&reader, records->data + root, records->len - root);
    if (!root_size) return CT_EINVAL;
    ct_extra_tags extra;
    ct_record_chunk chunk;
    uint32_t flags = ct__trace_chunk_tags(trace, &extra, &chunk, partial_flushes);
    int rc = ct__buffer_reserve(out, records->len + 256);
    if (rc == CT_OK) rc = ct__record_rewrite(&reader, &extra, flags, &chunk, out);
    if (rc == CT_OK) rc = ct__buffer_append(out, records->data, root);
    if (rc == CT_OK)
        rc = ct__buffer_append(out, records->data + root + root_size,
                               records->len - root - root_size);
    return rc;
}

static int should_send(const ct_trace *trace)
{
    const ct_tracer *tracer = trace->tracer;
    return !trace->detached && atomic_load_explicit(&tracer->enabled, memory_order_relaxed) &&
           !atomic_load_explicit(&tracer->shut_down, memory_order_relaxed) &&
           trace->fork_generation == ct__tracer_fork_generation();
}

/* The buffer a chunk is built in: the tracer's scratch when the caller
 * serializes every call, else a fresh one. */
static ct_buffer *chunk_buffer(ct_trace *trace, ct_buffer *local)
{
    ct_buffer *chunk = trace->tracer->lock_free ? &trace->tracer->frame : local;
    ct__buffer_clear(chunk);
    return chunk;
}

/* Submits a built chunk (rc: how building went) and recycles its buffer. */
static void submit_chunk(ct_trace *trace, ct_buffer *chunk, int rc, uint32_t count)
{
    ct_tracer *tracer = trace->tracer;
    if (rc == CT_OK)
        rc = tracer->writer->ops->submit(tracer->writer, chunk->data, chunk->len, count);
    else ct__tracer_count_drop(tracer, count);
    if (rc == CT_OK) ct__count_add(&tracer->traces_completed, 1);
    if (chunk != &tracer->frame) ct__buffer_release(chunk);
    else if (chunk->capacity > (1u << 20))
        ct__buffer_release(chunk); /* don't keep a huge scratch forever */
}

static void forget_records(ct_trace *trace)
{
    trace->record_count = 0;
    ct__buffer_clear(&trace->records);
    if (trace->records.capacity > (1u << 16)) ct__buffer_release(&trace->records);
}

/* Hands the records gathered so far to the writer, as one chunk. */
static void submit_records(ct_trace *trace, uint32_t partial_flushes)
{
    decide_sampling(trace, trace->root);
    if (should_send(trace)) {
        ct_buffer local = CT_BUFFER_INIT;
        ct_buffer *chunk = chunk_buffer(trace, &local);
        int rc = build_chunk(trace, partial_flushes, chunk);
        submit_chunk(trace, chunk, rc, trace->record_count);
    }
    forget_records(trace);
}

/* The common case: the local root finishes last. Its record is written
 * straight into the chunk, first and with the chunk's tags, followed by
 * the records of the others; nothing is rewritten. */
static void submit_with_root(ct_trace *trace, const ct_span *root)
{
    if (should_send(trace)) {
        ct_buffer local = CT_BUFFER_INIT;
        ct_buffer *chunk = chunk_buffer(trace, &local);
        ct_extra_tags extra;
        ct_record_chunk decision;
        uint32_t flags = ct__trace_chunk_tags(trace, &extra, &decision, 0);
        int rc = ct__span_serialize(root, &extra, &decision, flags, chunk);
        if (rc == CT_OK && trace->records.len)
            rc = ct__buffer_append(chunk, trace->records.data, trace->records.len);
        submit_chunk(trace, chunk, rc, trace->record_count + 1);
    }
    forget_records(trace);
}

static void after_close(ct_trace *trace)
{
    const ct_config *config = trace->tracer->config;
    if (trace->open_spans == 0) {
        if (trace->record_count) submit_records(trace, 0);
        return;
    }
    if (config->partial_flush_enabled && trace->record_count >= config->partial_flush_min_spans) {
        trace->partial_flushes++;
        submit_records(trace, trace->record_count);
    }
}

void ct__trace_record_span(ct_trace *trace, const ct_span *span)
{
    lock(trace);
    trace->open_spans--;
    if (span->span_id == trace->root_span_id) {
        decide_sampling(trace, span); /* at the root, as it ends */
        trace->root = NULL;
    }
    if (trace->open_spans == 0 && span->span_id == trace->root_span_id) {
        submit_with_root(trace, span);
    } else {
        ct_extra_tags extra;
        extra.meta_count = extra.metric_count = 0;
        if (ct__span_serialize(span, &extra, NULL, 0, &trace->records) == CT_OK)
            trace->record_count++;
        else ct__tracer_count_drop(trace->tracer, 1);
        after_close(trace);
    }
    unlock(trace);
}

void ct__trace_abandon_span(ct_trace *trace)
{
    lock(trace);
    ct__count_add(&trace->tracer->spans_dropped, 1);
    trace->open_spans--;
    after_close(trace);
    unlock(trace);
}

/* -- the bindings' view (ctrace_internal.h) ------------------------------------ */

ct_trace *ct__trace_ref(ct_trace *trace)
{
    ct__ref_increment(&trace->refcount);
    return trace;
}

int ct__trace_sampling_priority(const ct_trace *trace) { return trace->sampling_priority; }

const ct_tags *ct__trace_propagated(const ct_trace *trace) { return &trace->propagated; }

int ct__trace_set_propagated(ct_trace *trace, ct_string *key, ct_string *value)
{
    return ct__tags_set_meta(&trace->propagated, key, value);
}

const char *ct__trace_decision_maker(const ct_trace *trace)
{
    if (trace->decision_maker) return trace->decision_maker->data;
    return trace->sampled_locally ? trace->sampling.decision_maker : NULL;
}

ct_string *ct__trace_origin(const ct_trace *trace) { return trace->origin; }
ct_string *ct__trace_tracestate(const ct_trace *trace) { return trace->tracestate; }

uint32_t ct__trace_open_spans(const ct_trace *trace) { return trace->open_spans; }
