/*
 * tags — a span's meta (string → string) and metrics (string → double).
 *
 * Spans carry a handful of tags, so both maps are small arrays searched
 * linearly, which beats hashing below a few dozen entries and allocates
 * nothing until the first tag. As in ddtrace, a key lives in one map at a
 * time: setting it as meta removes it from metrics and the other way round.
 * Keys and values are shared strings (shared_string.h): the map holds one
 * reference to each.
 */
#ifndef CT_TAGS_H
#define CT_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "shared_string.h"

typedef struct ct_meta_entry {
    ct_string *key;
    ct_string *value;
} ct_meta_entry;

typedef struct ct_metric_entry {
    ct_string *key;
    double value;
} ct_metric_entry;

typedef struct ct_tags {
    ct_meta_entry *meta;
    ct_metric_entry *metrics;
    uint32_t meta_count, meta_capacity;
    uint32_t metric_count, metric_capacity;
} ct_tags;

#define CT_TAGS_INIT {NULL, NULL, 0, 0, 0, 0}

/* Sets meta key to value, taking a new reference to both (the caller keeps
 * its own). Removes a metric of the same key. CT_OK or CT_ENOMEM (nothing
 * changed). */
int ct_tags_set_meta(ct_tags *tags, ct_string *key, ct_string *value);
/* Same for a metric. */
int ct_tags_set_metric(ct_tags *tags, ct_string *key, double value);

/* Lookups by content; NULL / 0 when absent. */
ct_string *ct_tags_get_meta(const ct_tags *tags, const char *key, size_t len);
int ct_tags_get_metric(const ct_tags *tags, const char *key, size_t len,
                       double *value);

/* Removes a key from both maps; returns 1 if something was removed. */
int ct_tags_remove(ct_tags *tags, const char *key, size_t len);

/* Copies every entry of from into to (overwriting same keys). */
int ct_tags_merge(ct_tags *to, const ct_tags *from);

/* Drops every reference and frees the arrays; tags is empty afterwards. */
void ct_tags_clear(ct_tags *tags);

#endif
