/*
 * record_builder — writes span records (span_record.h) for tests and
 * benchmarks, without a tracer: begin a record, add tags and links, end it.
 * Aborts the test process on allocation failure (tests only).
 */
#ifndef CT_RECORD_BUILDER_H
#define CT_RECORD_BUILDER_H

#include <stdlib.h>
#include <string.h>

#include "span_record.h"

typedef struct record_builder {
    ct_buffer *out;
    size_t start;
    ct_record_header header;
} record_builder;

static inline void rb_check(int rc)
{
    if (rc != CT_OK) abort();
}

static inline void rb_str(record_builder *b, const char *s)
{
    rb_check(ct__record_put_str(b->out, s, strlen(s)));
}

/* Starts a record with its ids, implied-tag flags (span_record.h; with
 * CT_RECORD_CHUNK_HEAD, chunk is its decision) and strings; tags follow in
 * order: all meta, then all metrics, then links. */
static inline void rb_begin_flags(record_builder *b, ct_buffer *out, uint64_t trace_high,
                                  uint64_t trace_low, uint64_t span_id, uint64_t parent_id,
                                  const char *name, const char *service, const char *resource,
                                  const char *type, uint32_t flags, const ct_record_chunk *chunk)
{
    memset(b, 0, sizeof *b);
    b->out = out;
    b->start = out->len;
    b->header.trace_id_high = trace_high;
    b->header.trace_id_low = trace_low;
    b->header.span_id = span_id;
    b->header.parent_id = parent_id;
    b->header.start_ns = 1700000000000000000LL + (int64_t)(span_id % 1000);
    b->header.duration_ns = 12345;
    b->header.flags = flags;
    rb_check(ct__buffer_append(out, &b->header, sizeof b->header));
    if (flags & CT_RECORD_CHUNK_HEAD) rb_check(ct__buffer_append(out, chunk, sizeof *chunk));
    rb_str(b, name);
    rb_str(b, service);
    rb_str(b, resource);
    rb_str(b, type);
}

/* rb_begin_flags without implied tags. */
static inline void rb_begin(record_builder *b, ct_buffer *out, uint64_t trace_high,
                            uint64_t trace_low, uint64_t span_id, uint64_t parent_id,
                            const char *name, const char *service, const char *resource,
                            const char *type)
{
    rb_begin_flags(b, out, trace_high, trace_low, span_id, parent_id, name, service, resource, type,
                   0, NULL);
}

static inline void rb_meta_len(record_builder *b, const char *key, const char *value,
                               size_t value_len)
{
    rb_str(b, key);
    rb_check(ct__record_put_str(b->out, value, value_len));
    b->header.meta_count++;
}

static inline void rb_meta(record_builder *b, const char *key, const char *value)
{
    rb_meta_len(b, key, value, strlen(value));
}

static inline void rb_metric(record_builder *b, const char *key, double v)
{
    rb_str(b, key);
    rb_check(ct__buffer_append(b->out, &v, sizeof v));
    b->header.metric_count++;
}

/* attributes: NULL-terminated key, value, key, value, ... */
static inline void rb_link(record_builder *b, uint64_t trace_high, uint64_t trace_low,
                           uint64_t span_id, uint32_t flags, const char *tracestate,
                           const char **attributes)
{
    uint32_t count = 0;
    while (attributes && attributes[2 * count]) count++;
    rb_check(ct__buffer_append(b->out, &trace_high, 8));
    rb_check(ct__buffer_append(b->out, &trace_low, 8));
    rb_check(ct__buffer_append(b->out, &span_id, 8));
    rb_check(ct__buffer_append(b->out, &flags, 4));
    rb_str(b, tracestate ? tracestate : "");
    rb_check(ct__buffer_append(b->out, &count, 4));
    for (uint32_t i = 0; i < 2 * count; i++) rb_str(b, attributes[i]);
    b->header.link_count++;
}

/* Finishes the record: writes the final header (counts and size). */
static inline void rb_end(record_builder *b)
{
    b->header.size = (uint32_t)(b->out->len - b->start);
    memcpy(b->out->data + b->start, &b->header, sizeof b->header);
}

#endif
