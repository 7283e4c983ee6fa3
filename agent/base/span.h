/* The agent's in-memory model of a trace chunk, between decoding and storage.
 *
 * A chunk is what a tracer sends as one "trace": the spans of one trace
 * that one process finished. Strings are (pointer, length) views: into the
 * request body when the decoder could point there, into the per-trace
 * scratch arena when normalization had to rewrite them. Nothing here owns
 * memory; the decoder's arena and the request body outlive a chunk's use. */
#ifndef AG_SPAN_H
#define AG_SPAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *ptr;
    size_t len;
} ag_str;

#define AG_STR_LIT(s) ((ag_str){(s), sizeof(s) - 1})

static inline int ag_str_eq(ag_str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && (n == 0 || memcmp(a.ptr, lit, n) == 0);
}

typedef struct {
    ag_str key, value;
} ag_tag;

typedef struct {
    ag_str key;
    double value;
} ag_metric;

typedef struct {
    uint64_t trace_id, trace_id_high, span_id;
    uint32_t flags;
    ag_str tracestate;
    ag_tag *attributes;
    size_t attributes_len;
} ag_link;

/* A span event; attributes are kept as the msgpack map the tracer sent
 * (typed values), re-packed into the arena, and turned into JSON on query. */
typedef struct {
    uint64_t time_unix_nano;
    ag_str name;
    ag_str attributes_msgpack; /* empty when absent */
} ag_event;

typedef struct {
    uint64_t trace_id, span_id, parent_id;
    int64_t start, duration;
    int32_t error;
    ag_str service, name, resource, type;
    ag_tag *meta;
    size_t meta_len;
    ag_metric *metrics;
    size_t metrics_len;
    ag_link *links;
    size_t links_len;
    ag_event *events;
    size_t events_len;
} ag_span;

typedef struct {
    ag_span *spans;
    size_t len;
} ag_trace;

/* Lookups by key; linear because spans carry tens of tags, not thousands. */
static inline ag_tag *ag_span_meta(const ag_span *s, const char *key)
{
    for (size_t i = 0; i < s->meta_len; i++)
        if (ag_str_eq(s->meta[i].key, key)) return &s->meta[i];
    return NULL;
}

static inline ag_metric *ag_span_metric(const ag_span *s, const char *key)
{
    for (size_t i = 0; i < s->metrics_len; i++)
        if (ag_str_eq(s->metrics[i].key, key)) return &s->metrics[i];
    return NULL;
}

#endif
