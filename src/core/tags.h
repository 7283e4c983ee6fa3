/*
 * tags — a span's meta (string → string) and metrics (string → double).
 *
 * Both maps are arrays of entries, in insertion order, which is what the
 * serializer and every reader walk. Spans carry a handful of tags, so up to
 * CT_TAGS_LINEAR_MAX entries a key is found by a linear scan, which beats
 * hashing at that size and allocates nothing beyond the array. Past it, a
 * map builds an index (open addressing over a seeded hash of the key), so
 * set, get and remove stay constant time whatever the tag count: a span
 * given 100,000 tags by a loop in user code must not turn each set_tag into
 * a walk over the others (it did: 17 s on the application thread).
 *
 * As in ddtrace, a key lives in one map at a time: setting it as meta
 * removes it from metrics and the other way round. Keys and values are
 * shared strings (shared_string.h): the map holds one reference to each.
 * A meta value longer than CT_TAG_VALUE_MAX bytes is stored truncated (see
 * there): one huge value must cost its span a truncated tag, not its whole
 * trace the writer's buffer.
 *
 * The map's layout and the functions a binding uses are declared in
 * ctrace_internal.h; this header adds the rest.
 */
#ifndef CT_TAGS_H
#define CT_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "ctrace_internal.h" /* ct_tags, set_meta, get_meta/metric, clear */
#include "shared_string.h"

/* Maps of at most this many entries have no index. */
#define CT_TAGS_LINEAR_MAX 16

/* The longest meta value kept, in bytes. The Datadog agent truncates meta
 * values at 25,000 bytes anyway (so does ctrace-agent), so nothing a
 * backend would show is lost; a longer value is cut at a UTF-8 character
 * boundary and ends with "...". */
#define CT_TAG_VALUE_MAX 25000

/* ct__tags_set_meta (ctrace_internal.h), taking the caller's reference to
 * value (released on CT_ENOMEM too): a setter that made value for this
 * call saves a reference and a release per tag. */
int ct__tags_set_meta_taking(ct_tags *tags, ct_string *key, ct_string *value);
/* Same for a metric. */
int ct__tags_set_metric(ct_tags *tags, ct_string *key, double value);

/* Removes a key from both maps; returns 1 if something was removed. The
 * last entry of the map takes the removed one's place. */
int ct__tags_remove(ct_tags *tags, const char *key, size_t len);

/* Copies every entry of from into to (overwriting same keys). CT_OK or
 * CT_ENOMEM (to holds the entries copied so far). */
int ct__tags_merge(ct_tags *to, const ct_tags *from);

/* Arrays a map starts with (4 entries): a tracer that serializes its calls
 * keeps a few spare ones, so a span's first tag does not cost a malloc and
 * its release a free (spare_arrays in tracer.h). */
#define CT_TAGS_FIRST_CAPACITY 4

/* ct__tags_clear, except that arrays of CT_TAGS_FIRST_CAPACITY entries are
 * handed back in *meta and *metrics (else NULL) instead of being freed; the
 * caller owns them (ct__free, or ct__tags_give). */
void ct__tags_clear_keeping(ct_tags *tags, void **meta, void **metrics);

/* Gives an empty map arrays from ct__tags_clear_keeping (either NULL: that
 * map keeps what it has). Only for a map that has no array of that kind. */
static inline void ct__tags_give(ct_tags *tags, void *meta, void *metrics)
{
    if (meta && !tags->meta_capacity) {
        tags->meta = meta;
        tags->meta_capacity = CT_TAGS_FIRST_CAPACITY;
    }
    if (metrics && !tags->metric_capacity) {
        tags->metrics = metrics;
        tags->metric_capacity = CT_TAGS_FIRST_CAPACITY;
    }
}

/* Slots probed by this thread's indexed lookups so far: tests prove set
 * and get constant time by counting, not by timing (maps of up to
 * CT_TAGS_LINEAR_MAX entries are not counted). */
extern _Thread_local uint64_t ct__tags_probes __attribute__((tls_model("initial-exec")));

#endif
