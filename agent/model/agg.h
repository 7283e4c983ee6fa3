/* Per-minute aggregates of top-level spans: hits, errors, total duration
 * and a latency histogram, keyed by (minute, service, resource).
 *
 * Computed at ingest: each request's batch aggregates its own spans (on the
 * HTTP thread, in parallel), the store's writer merges the batches of one
 * commit and upserts one row per key, so the RED-metric queries read a few
 * thousand small rows instead of millions of spans. resource NULL is the
 * service-wide entry. */
#ifndef AG_AGG_H
#define AG_AGG_H

#include "hist.h"

#include <stdint.h>
#include <stddef.h>

typedef struct {
    int64_t minute; /* unix seconds, multiple of 60 */
    char *service;  /* owned */
    char *resource; /* owned; NULL for the service-wide entry */
    char *name;     /* owned; operation name of the resource */
    uint32_t service_len, resource_len;
    uint64_t hits, errors;
    int64_t duration_sum;
    ag_hist_acc hist; /* owns its dense part */
    uint64_t hash;
} ag_agg_entry;

typedef struct {
    ag_agg_entry *slots; /* open addressing; service == NULL is empty */
    size_t cap, len;
    size_t last[2]; /* slots of the last service and resource hits */
} ag_aggmap;

/* Heap bytes of the entries' histograms (for the intake's memory budget). */
size_t ag_aggmap_hist_bytes(const ag_aggmap *m);

void ag_aggmap_init(ag_aggmap *m);
void ag_aggmap_free(ag_aggmap *m);
/* Counts one hit of (service, resource) and one of the service-wide entry
 * (whose hash the other's extends, so the service is hashed once).
 * resource must not be NULL (it may be empty: that is not the service-wide
 * entry). Strings are copied. Never fails (aborts on OOM). */
void ag_aggmap_add(ag_aggmap *m, int64_t minute, const char *service, size_t service_len,
                   const char *resource, size_t resource_len, const char *name, size_t name_len,
                   int64_t duration, int error);
/* Adds every entry of from into into (from is left unchanged). */
void ag_aggmap_merge(ag_aggmap *into, const ag_aggmap *from);

#endif
