/*
 * span.c — span lifecycle and serialization (see span.h), and the public
 * span API of ctrace.h (ct_span_new ... ct_span_trace_id_high), a thin
 * layer that copies C strings into shared strings and calls the rest.
 *
 * Start does the least it can: ids, two clock reads, shared-string
 * references and the few tags ddtrace sets at creation (env, version,
 * runtime-id and process_id on a local root, the tracer's global tags).
 * Tags that depend on where the span sits in its trace (`_dd.top_level`,
 * `_dd.base_service`) are derived at finish, because the service may change
 * while the span runs.
 */
#include "span.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctrace_internal.h"
#include "ids.h"
#include "span_record.h"
#include "trace.h"
#include "tracer.h"

/* The segment a new span belongs to: its local parent's, a new one
 * continuing a remote parent, or a new trace. NULL when out of memory. */
static ct_trace *segment_for(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args,
                             int64_t start_ns)
{
    if (args->parent && args->parent->trace) {
        span->parent_id = args->parent->span_id;
        return ct__trace_ref(args->parent->trace);
    }
    const ct_remote_parent *remote = args->remote;
    ct_trace *trace;
    if (remote && (remote->trace_id_low || remote->trace_id_high)) {
        trace = ct__trace_new(tracer, remote->trace_id_high, remote->trace_id_low);
        if (!trace) return NULL;
        span->parent_id = remote->span_id;
        if (remote->sampling_priority != CT_PRIORITY_UNSET)
            trace->sampling_priority = remote->sampling_priority;
        if (remote->origin && remote->origin[0])
            trace->origin = ct__string_new(remote->origin, strlen(remote->origin));
        if (remote->tracestate && remote->tracestate[0])
            trace->tracestate = ct__string_new(remote->tracestate, strlen(remote->tracestate));
    } else {
        uint64_t high =
            tracer->config->trace_id_128 ? ct__ids_trace_high(start_ns / 1000000000) : 0;
        trace = ct__trace_new(tracer, high, ct__ids_random64());
        if (!trace) return NULL;
        span->parent_id = 0;
    }
    span->local_root = 1;
    trace->root_span_id = span->span_id;
    trace->root = span; /* the sampler reads it until it ends */
    return trace;
}

static inline void give_spares(ct_span *span);

/* Tags ddtrace sets when a span is created. (runtime-id and process_id of
 * a local root are added when it is serialized: storing them here cost two
 * allocations per trace.) */
static int add_start_tags(ct_span *span, ct_tracer *tracer)
{
    const ct_tracer_keys *k = &tracer->keys;
    int rc = CT_OK;
    if (tracer->env || tracer->global_tags.meta_count) give_spares(span);
    if (tracer->global_tags.meta_count || tracer->global_tags.metric_count)
        rc |= ct__tags_merge(&span->tags, &tracer->global_tags);
    if (tracer->env) rc |= ct__tags_set_meta(&span->tags, k->env, tracer->env);
    if (tracer->version && span->service &&
        ct__string_equals(tracer->service, span->service->data, span->service->len))
        rc |= ct__tags_set_meta(&span->tags, k->version, tracer->version);
    return rc ? CT_ENOMEM : CT_OK;
}

int ct__span_start(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args)
{
    memset(span, 0, sizeof *span);
    span->duration_ns = -1;
    span->span_id = ct__ids_random64();
    if (args->start_ns) {
        span->start_ns = args->start_ns;
    } else {
        span->start_ns = ct__clock_wall_ns();
        span->start_monotonic_ns = ct__clock_monotonic_ns();
    }
    span->trace = segment_for(span, tracer, args, span->start_ns);
    if (!span->trace) goto out_of_memory;
    const ct_span *parent = args->parent;
    ct_string *service = args->service ? args->service : parent ? parent->service : tracer->service;
    span->name = ct__string_ref(args->name ? args->name : ct__string_empty());
    span->service = ct__string_ref(ct__tracer_map_service(tracer, service));
    span->resource = ct__string_ref(args->resource);
    span->type = ct__string_ref(args->type);
    span->parent_service = parent ? ct__string_ref(parent->service) : NULL;
    ct__trace_span_opened(span->trace);
    ct__count_add(&tracer->spans_started, 1);
    if (add_start_tags(span, tracer) != CT_OK) goto out_of_memory;
    return CT_OK;

out_of_memory:
    if (!span->trace) /* else releasing abandons it, which counts it */
        ct__count_add(&tracer->spans_dropped, 1);
    ct__span_release(span);
    span->finished = 1; /* nothing left to send */
    return CT_ENOMEM;
}

int ct__span_start_detached(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args,
                            uint64_t span_id)
{
    ct_span_start_args own = *args;
    own.parent = NULL;
    int rc = ct__span_start(span, tracer, &own);
    if (rc != CT_OK) return rc;
    span->trace->detached = 1;
    if (span_id) span->span_id = span->trace->root_span_id = span_id;
    ct__string_assign(&span->service, ct__string_ref(args->service));
    ct__tags_clear(&span->tags);
    return CT_OK;
}

/* Gives a span's empty maps spare arrays from its tracer (lock-free mode:
 * the caller serializes, so the spares need no lock): no malloc for the
 * first tags of a span. */
static inline void give_spares(ct_span *span)
{
    ct_tracer *tracer = span->trace ? span->trace->tracer : NULL;
    if (tracer && tracer->lock_free)
        ct__tags_give(&span->tags,
                      span->tags.meta_capacity ? NULL : ct__spare_take(&tracer->spare_meta),
                      span->tags.metric_capacity ? NULL : ct__spare_take(&tracer->spare_metrics));
}

int ct__span_tag_lost(ct_span *span)
{
    /* A span whose start failed has no segment: it is counted in
     * spans_dropped, and its tags go with it. */
    if (span->trace) ct__count_add(&span->trace->tracer->tags_dropped, 1);
    return CT_ENOMEM;
}

int ct__span_set_meta_taking(ct_span *span, ct_string *key, ct_string *value)
{
    if (!span->tags.meta_capacity) give_spares(span);
    return ct__tags_set_meta_taking(&span->tags, key, value) == CT_OK ? CT_OK
                                                                      : ct__span_tag_lost(span);
}

int ct__span_set_meta(ct_span *span, ct_string *key, ct_string *value)
{
    return ct__span_set_meta_taking(span, key, ct__string_ref(value));
}

int ct__span_set_metric_s(ct_span *span, ct_string *key, double value)
{
    if (!span->tags.metric_capacity) give_spares(span);
    return ct__tags_set_metric(&span->tags, key, value) == CT_OK ? CT_OK : ct__span_tag_lost(span);
}

/* Drops the span's tags, keeping their arrays as spares when it can. */
static void release_tags(ct_span *span)
{
    if (!span->tags.meta_capacity && !span->tags.metric_capacity)
        return; /* never had a tag: nothing to drop (the common span) */
    ct_tracer *tracer = span->trace ? span->trace->tracer : NULL;
    if (!tracer || !tracer->lock_free) {
        ct__tags_clear(&span->tags);
        return;
    }
    void *meta, *metrics;
    ct__tags_clear_keeping(&span->tags, &meta, &metrics);
    ct__spare_put(&tracer->spare_meta, meta);
    ct__spare_put(&tracer->spare_metrics, metrics);
}

static void link_clear(ct_link *link)
{
    ct__string_unref(link->tracestate);
    ct__tags_clear(&link->attributes);
}

int ct__span_add_link(ct_span *span, const ct_link *link)
{
    ct_link copy = *link;
    copy.tracestate = ct__string_ref(link->tracestate);
    copy.attributes = (ct_tags)CT_TAGS_INIT;
    if (ct__tags_merge(&copy.attributes, &link->attributes) != CT_OK) {
        link_clear(&copy);
        return CT_ENOMEM;
    }
    for (uint32_t i = 0; i < span->link_count; i++)
        if (span->links[i].span_id == link->span_id) {
            link_clear(&span->links[i]);
            span->links[i] = copy;
            return CT_OK;
        }
    if (span->link_count == span->link_capacity) {
        uint32_t wanted = span->link_capacity ? span->link_capacity * 2 : 2;
        ct_link *grown = ct__realloc(span->links, wanted * sizeof *grown);
        if (!grown) {
            link_clear(&copy);
            return CT_ENOMEM;
        }
        span->links = grown;
        span->link_capacity = wanted;
    }
    span->links[span->link_count++] = copy;
    return CT_OK;
}

int ct__span_finish_at(ct_span *span, int64_t finish_ns)
{
    int rc = ct__span_stop_at(span, finish_ns);
    if (rc == CT_OK) ct__trace_record_span(span->trace, span);
    return rc;
}

int ct__span_stop_at(ct_span *span, int64_t finish_ns)
{
    if (span->finished) return CT_ESTATE;
    span->finished = 1;
    if (finish_ns) span->duration_ns = finish_ns - span->start_ns;
    else if (span->start_monotonic_ns)
        span->duration_ns = ct__clock_monotonic_ns() - span->start_monotonic_ns;
    else span->duration_ns = ct__clock_wall_ns() - span->start_ns;
    if (span->duration_ns < 0) span->duration_ns = 0;
    ct_tracer *tracer = span->trace->tracer;
    ct__count_add(&tracer->spans_finished, 1);
    return CT_OK;
}

void ct__span_release(ct_span *span)
{
    if (span->trace && span->local_root) ct__trace_forget_root(span->trace, span);
    if (span->trace && !span->finished) ct__trace_abandon_span(span->trace);
    span->finished = 1;
    ct__string_unref(span->name);
    ct__string_unref(span->service);
    ct__string_unref(span->resource);
    ct__string_unref(span->type);
    ct__string_unref(span->parent_service);
    span->name = span->service = span->resource = span->type = NULL;
    span->parent_service = NULL;
    release_tags(span);
    for (uint32_t i = 0; i < span->link_count; i++) link_clear(&span->links[i]);
    ct__free(span->links);
    span->links = NULL;
    span->link_count = span->link_capacity = 0;
    ct__trace_unref(span->trace);
    span->trace = NULL;
}

/* -- serialization ----------------------------------------------------------- */

static ct_string *str_or_empty(ct_string *s) { return s ? s : ct__string_empty(); }

static inline int put(ct_buffer *out, ct_string *s)
{
    s = str_or_empty(s);
    return ct__record_put_str(out, s->data, s->len);
}

/* Writes meta pairs (own, then extra); returns the count or -1. Own tags
 * that extra replaces or the flags imply are left out. */
static long put_meta(ct_buffer *out, const ct_tags *own, const ct_extra_tags *extra, uint32_t flags,
                     uint64_t high)
{
    long count = 0;
    for (uint32_t i = 0; i < own->meta_count; i++) {
        ct_string *key = own->meta[i].key;
        if (ct__record_drops(extra, flags, high, 1, key->data, key->len)) continue;
        if (put(out, key) || put(out, own->meta[i].value)) return -1;
        count++;
    }
    for (uint32_t i = 0; i < extra->meta_count; i++, count++)
        if (ct__record_put_str(out, extra->meta[i].key, extra->meta[i].key_len) ||
            ct__record_put_str(out, extra->meta[i].value, extra->meta[i].value_len))
            return -1;
    return count;
}

static long put_metrics(ct_buffer *out, const ct_tags *own, const ct_extra_tags *extra,
                        uint32_t flags, uint64_t high)
{
    long count = 0;
    for (uint32_t i = 0; i < own->metric_count; i++) {
        ct_string *key = own->metrics[i].key;
        if (ct__record_drops(extra, flags, high, 0, key->data, key->len)) continue;
        if (put(out, key) || ct__buffer_append(out, &own->metrics[i].value, sizeof(double)))
            return -1;
        count++;
    }
    for (uint32_t i = 0; i < extra->metric_count; i++, count++)
        if (ct__record_put_str(out, extra->metrics[i].key, extra->metrics[i].key_len) ||
            ct__buffer_append(out, &extra->metrics[i].value, sizeof(double)))
            return -1;
    return count;
}

static int put_links(ct_buffer *out, const ct_span *span)
{
    for (uint32_t i = 0; i < span->link_count; i++) {
        const ct_link *link = &span->links[i];
        uint64_t ids[3] = {link->trace_id_high, link->trace_id_low, link->span_id};
        uint32_t attribute_count = link->attributes.meta_count;
        if (ct__buffer_append(out, ids, sizeof ids) ||
            ct__buffer_append(out, &link->flags, sizeof link->flags) ||
            put(out, link->tracestate) ||
            ct__buffer_append(out, &attribute_count, sizeof attribute_count))
            return -1;
        for (uint32_t a = 0; a < attribute_count; a++)
            if (put(out, link->attributes.meta[a].key) || put(out, link->attributes.meta[a].value))
                return -1;
    }
    return 0;
}

/* The tags the span's position in its trace implies: flags for the common
 * ones (span_record.h), extra tags for the rare ones. Always inlined:
 * serialization runs it once per span (reads of the tracer's tags, its
 * second caller, made the compiler stop inlining it: +32 instructions). */
static inline __attribute__((always_inline)) uint32_t derived_tags(const ct_span *span,
                                                                   ct_extra_tags *derived)
{
    ct_tracer *tracer = span->trace->tracer;
    const ct_tracer_keys *k = &tracer->keys;
    uint32_t flags = 0;
    int top_level =
        span->local_root ||
        (span->parent_service && span->service &&
         !ct__string_equals(span->parent_service, span->service->data, span->service->len));
    if (top_level) flags |= CT_RECORD_TOP_LEVEL;
    if (span->local_root) flags |= CT_RECORD_LOCAL_ROOT;
    if (span->service && span->service != tracer->service &&
        !ct__string_equals(tracer->service, span->service->data, span->service->len))
        ct__extra_meta(derived, k->base_service->data, k->base_service->len, tracer->service->data,
                       tracer->service->len);
    if (span->trace->origin)
        ct__extra_meta(derived, k->origin->data, k->origin->len, span->trace->origin->data,
                       span->trace->origin->len);
    return flags;
}

void ct__span_tracer_tags(const ct_span *span, ct_extra_tags *extra, ct_implied_tags *implied)
{
    ct_record_reader reader;
    memset(&reader.header, 0, sizeof reader.header);
    memset(&reader.chunk, 0, sizeof reader.chunk);
    extra->meta_count = extra->metric_count = 0;
    implied->meta_count = implied->metric_count = 0;
    ct_trace *trace = span->trace;
    if (!trace || trace->detached) return;
    uint32_t flags = span->local_root ? CT_RECORD_LOCAL_ROOT : 0;
    if (span->finished) flags |= derived_tags(span, extra);
    if (trace->open_spans) {
        /* ddtrace adds the rest when the chunk is processed */
        extra->meta_count = extra->metric_count = 0;
    } else if (span->finished && span->local_root &&
               trace->sampling_priority != CT_PRIORITY_UNSET) {
        ct_extra_tags chunk_extra;
        flags |= CT_RECORD_CHUNK_HEAD | ct__trace_chunk_tags(trace, &chunk_extra, &reader.chunk, 0);
        for (uint32_t i = 0; i < chunk_extra.meta_count; i++)
            ct__extra_meta(extra, chunk_extra.meta[i].key, chunk_extra.meta[i].key_len,
                           chunk_extra.meta[i].value, chunk_extra.meta[i].value_len);
        for (uint32_t i = 0; i < chunk_extra.metric_count; i++)
            ct__extra_metric(extra, chunk_extra.metrics[i].key, chunk_extra.metrics[i].key_len,
                             chunk_extra.metrics[i].value);
    }
    if (!flags) return;
    reader.header.flags = flags;
    reader.header.trace_id_high = trace->trace_id_high;
    ct__record_implied(&reader, &trace->tracer->record_context, implied);
}

int ct__span_serialize(const ct_span *span, ct_extra_tags *extra, const ct_record_chunk *chunk,
                       uint32_t chunk_flags, ct_buffer *out)
{
    size_t start = out->len;
    ct_record_header header;
    header.size = header.meta_count = header.metric_count = 0; /* set below */
    header.flags = derived_tags(span, extra) | (chunk ? chunk_flags | CT_RECORD_CHUNK_HEAD : 0);
    header.trace_id_low = span->trace->trace_id_low;
    header.trace_id_high = span->trace->trace_id_high;
    header.span_id = span->span_id;
    header.parent_id = span->parent_id;
    header.start_ns = span->start_ns;
    header.duration_ns = span->duration_ns < 0 ? 0 : span->duration_ns;
    header.error = span->error;
    header.link_count = span->link_count;
    long meta_count = -1, metric_count = -1;
    uint64_t high = header.trace_id_high;
    if (ct__buffer_append(out, &header, sizeof header) == CT_OK &&
        (!chunk || ct__buffer_append(out, chunk, sizeof *chunk) == CT_OK) &&
        put(out, span->name) == CT_OK && put(out, span->service) == CT_OK &&
        put(out, ct__span_resource(span)) == CT_OK && put(out, span->type) == CT_OK &&
        (meta_count = put_meta(out, &span->tags, extra, header.flags, high)) >= 0 &&
        (metric_count = put_metrics(out, &span->tags, extra, header.flags, high)) >= 0 &&
        put_links(out, span) == 0) {
        header.size = (uint32_t)(out->len - start);
        header.meta_count = (uint32_t)meta_count;
        header.metric_count = (uint32_t)metric_count;
        memcpy(out->data + start, &header, sizeof header);
        return CT_OK;
    }
    out->len = start;
    return CT_ENOMEM;
}

/* -- the public span API ------------------------------------------------------ */

static ct_string *option_string(const char *s, ptrdiff_t len)
{
    if (!s) return NULL;
    return ct__string_new(s, len < 0 ? strlen(s) : (size_t)len);
}

ct_span *ct_span_new(ct_tracer *tracer, const ct_span_options *options)
{
    ct_span *span = ct__malloc(sizeof *span);
    if (!span) {
        ct__tracer_count_drop(tracer, 1);
        return NULL;
    }
    ct_span_start_args args = {
        .name = option_string(options->name, options->name_len),
        .service = option_string(options->service, options->service_len),
        .resource = option_string(options->resource, options->resource_len),
        .type = option_string(options->type, options->type_len),
        .parent = options->parent,
        .remote = options->remote,
        .start_ns = options->start_ns,
    };
    /* a string that could not be copied would be a span with a wrong name */
    int copied = (!options->name || args.name) && (!options->service || args.service) &&
                 (!options->resource || args.resource) && (!options->type || args.type);
    int rc = copied ? ct__span_start(span, tracer, &args) : CT_ENOMEM;
    ct__string_unref(args.name);
    ct__string_unref(args.service);
    ct__string_unref(args.resource);
    ct__string_unref(args.type);
    if (rc != CT_OK) {
        ct__free(span);
        if (!copied) /* else ct__span_start counted it */
            ct__tracer_count_drop(tracer, 1);
        return NULL;
    }
    return span;
}

void ct_span_free(ct_span *span)
{
    if (!span) return;
    if (!span->finished) ct__span_finish_at(span, 0);
    ct__span_release(span);
    ct__free(span);
}

int ct_span_set_tag(ct_span *span, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    ct_string *k = ct__string_new(key, key_len);
    ct_string *v = ct__string_new(value, value_len);
    int rc = (k && v) ? ct__span_set_meta(span, k, v) : ct__span_tag_lost(span);
    ct__string_unref(k);
    ct__string_unref(v);
    return rc;
}

int ct_span_set_metric(ct_span *span, const char *key, size_t key_len, double value)
{
    if (value != value || value - value != 0)
        return CT_EINVAL; /* NaN or infinite: ddtrace ignores them too */
    ct_string *k = ct__string_new(key, key_len);
    int rc = k ? ct__span_set_metric_s(span, k, value) : ct__span_tag_lost(span);
    ct__string_unref(k);
    return rc;
}

int ct_span_set_error(ct_span *span, const char *type, const char *message, const char *stack)
{
    const ct_tracer_keys *k = &span->trace->tracer->keys;
    span->error = 1;
    int rc = CT_OK;
    const char *values[] = {type, message, stack};
    const ct_string *keys[] = {k->error_type, k->error_message, k->error_stack};
    for (int i = 0; i < 3; i++)
        if (values[i] && ct_span_set_tag(span, keys[i]->data, keys[i]->len, values[i],
                                         strlen(values[i])) != CT_OK)
            rc = CT_ENOMEM;
    return rc;
}

int ct_span_finish(ct_span *span, int64_t finish_ns)
{
    return span->trace ? ct__span_finish_at(span, finish_ns) : CT_ESTATE;
}

uint64_t ct_span_id(const ct_span *span) { return span->span_id; }
uint64_t ct_span_trace_id_low(const ct_span *span)
{
    return span->trace ? span->trace->trace_id_low : 0;
}
uint64_t ct_span_trace_id_high(const ct_span *span)
{
    return span->trace ? span->trace->trace_id_high : 0;
}

/* -- the bindings' view (ctrace_internal.h) ------------------------------------ */

void ct__span_record_stopped(ct_span *span) { ct__trace_record_span(span->trace, span); }
void ct__span_abandon_stopped(ct_span *span) { ct__trace_abandon_span(span->trace); }
