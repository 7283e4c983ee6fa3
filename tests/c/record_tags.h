/*
 * record_tags — a record's tags as the agent will see them, for tests: its
 * own tags, then the ones it implies (span_record.h), looked up by key.
 */
#ifndef CT_RECORD_TAGS_H
#define CT_RECORD_TAGS_H

#include <string.h>

#include "span_record.h"

static inline int rt_str_is(ct_record_str s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static inline void rt_copy(ct_record_str value, char *out, size_t size)
{
    size_t n = value.len < size - 1 ? value.len : size - 1;
    memcpy(out, value.ptr, n);
    out[n] = '\0';
}

/* Copies the meta value of key (NUL-terminated, truncated to size) into
 * out; 1 when found, 0 when not. The context may be NULL. */
static inline int rt_meta(const ct_record_reader *r, const ct_record_context *context,
                          const char *key, char *out, size_t size)
{
    const uint8_t *cursor = r->meta;
    for (uint32_t i = 0; i < r->header.meta_count; i++) {
        ct_record_str k = ct__record_read_str(&cursor), v = ct__record_read_str(&cursor);
        if (rt_str_is(k, key)) {
            rt_copy(v, out, size);
            return 1;
        }
    }
    ct_implied_tags implied;
    ct__record_implied(r, context, &implied);
    for (uint32_t i = 0; i < implied.meta_count; i++)
        if (rt_str_is(implied.meta[i].key, key)) {
            rt_copy(implied.meta[i].value, out, size);
            return 1;
        }
    return 0;
}

/* The same for a metric. */
static inline int rt_metric(const ct_record_reader *r, const ct_record_context *context,
                            const char *key, double *out)
{
    const uint8_t *cursor = r->metrics;
    for (uint32_t i = 0; i < r->header.metric_count; i++) {
        ct_record_str k = ct__record_read_str(&cursor);
        double v = ct__record_read_double(&cursor);
        if (rt_str_is(k, key)) {
            *out = v;
            return 1;
        }
    }
    ct_implied_tags implied;
    ct__record_implied(r, context, &implied);
    for (uint32_t i = 0; i < implied.metric_count; i++)
        if (rt_str_is(implied.metrics[i].key, key)) {
            *out = implied.metrics[i].value;
            return 1;
        }
    return 0;
}

/* How many meta entries (own and implied) have this key: an implied key
 * must never also be an own one. */
static inline int rt_meta_count(const ct_record_reader *r, const ct_record_context *context,
                                const char *key)
{
    int count = 0;
    const uint8_t *cursor = r->meta;
    for (uint32_t i = 0; i < r->header.meta_count; i++) {
        ct_record_str k = ct__record_read_str(&cursor);
        ct__record_read_str(&cursor);
        count += rt_str_is(k, key);
    }
    ct_implied_tags implied;
    ct__record_implied(r, context, &implied);
    for (uint32_t i = 0; i < implied.meta_count; i++) count += rt_str_is(implied.meta[i].key, key);
    return count;
}

#endif
