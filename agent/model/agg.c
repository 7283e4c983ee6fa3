/* Aggregation maps (see agg.h): an open-addressing hash table with linear
 * probing, grown at 50% load. Entries own their strings and histogram so a
 * map can outlive the request that filled it. */
#include "agg.h"
#include "buf.h"
#include "hash.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void ag_aggmap_init(ag_aggmap *m)
{
    m->slots = NULL;
    m->cap = m->len = 0;
    m->last[0] = m->last[1] = SIZE_MAX;
}

void ag_aggmap_free(ag_aggmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        ag_agg_entry *e = &m->slots[i];
        if (!e->service) continue;
        free(e->service);
        free(e->resource);
        free(e->name);
        ag_hist_acc_free(&e->hist);
    }
    free(m->slots);
    ag_aggmap_init(m);
}

/* The service-wide entry's hash; a resource entry's extends it
 * (resource_hash), so adding both hashes the service once. */
static uint64_t service_hash(int64_t minute, const char *s, size_t sl)
{
    return ag_hash_bytes(s, sl, AG_HASH_SEED ^ (uint64_t)minute * AG_HASH_GOLDEN);
}

static uint64_t resource_hash(uint64_t service_hash, const char *r, size_t rl)
{
    return ag_hash_bytes(r, rl, service_hash ^ 1);
}

/* Lengths first: entries keep them, so no strlen on a lookup. */
static int key_eq(const ag_agg_entry *e, int64_t minute, const char *s, size_t sl, const char *r,
                  size_t rl)
{
    if (e->minute != minute || e->service_len != sl || memcmp(e->service, s, sl)) return 0;
    if (!r || !e->resource) return !r && !e->resource;
    return e->resource_len == rl && !memcmp(e->resource, r, rl);
}

/* Room for n more entries at 50% load, so pointers into the table stay
 * valid across the n insertions that follow. */
static void reserve(ag_aggmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    while ((m->len + n) * 2 > cap) cap *= 2;
    if (cap == m->cap) return;
    ag_agg_entry *slots = ag_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].service) continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (slots[j].service) j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->last[0] = m->last[1] = SIZE_MAX;
}

/* The entry last used for this kind of key (service-wide or resource), if
 * it is the key: consecutive spans often repeat it. */
static ag_agg_entry *last_hit(ag_aggmap *m, int64_t minute, const char *s, size_t sl, const char *r,
                              size_t rl)
{
    size_t last = m->last[r != NULL];
    return last < m->cap && m->slots[last].service && key_eq(&m->slots[last], minute, s, sl, r, rl)
               ? &m->slots[last]
               : NULL;
}

/* Needs room for one more entry (reserve). */
static ag_agg_entry *find_or_insert(ag_aggmap *m, uint64_t h, int64_t minute, const char *s,
                                    size_t sl, const char *r, size_t rl, const char *n, size_t nl)
{
    size_t j = h & (m->cap - 1);
    while (m->slots[j].service) {
        if (m->slots[j].hash == h && key_eq(&m->slots[j], minute, s, sl, r, rl))
            return m->last[r != NULL] = j, &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    ag_agg_entry *e = &m->slots[j];
    memset(e, 0, sizeof *e);
    e->minute = minute;
    e->service = ag_xstrndup(s, sl);
    e->service_len = (uint32_t)sl;
    e->resource = r ? ag_xstrndup(r, rl) : NULL;
    e->resource_len = (uint32_t)rl;
    e->name = ag_xstrndup(n ? n : "", n ? nl : 0);
    e->hash = h;
    m->len++;
    m->last[r != NULL] = j;
    return e;
}

static void count_hit(ag_agg_entry *e, int64_t duration, int bucket, int error)
{
    e->hits++;
    e->errors += error != 0;
    e->duration_sum += duration;
    ag_hist_acc_add(&e->hist, bucket, 1);
}

void ag_aggmap_add(ag_aggmap *m, int64_t minute, const char *s, size_t sl, const char *r, size_t rl,
                   const char *n, size_t nl, int64_t duration, int error)
{
    reserve(m, 2);
    ag_agg_entry *by_resource = last_hit(m, minute, s, sl, r, rl);
    ag_agg_entry *by_service = last_hit(m, minute, s, sl, NULL, 0);
    uint64_t hs = by_resource && by_service ? 0 : service_hash(minute, s, sl);
    if (!by_service) by_service = find_or_insert(m, hs, minute, s, sl, NULL, 0, NULL, 0);
    if (!by_resource)
        by_resource = find_or_insert(m, resource_hash(hs, r, rl), minute, s, sl, r, rl, n, nl);
    int bucket = ag_hist_bucket(duration);
    count_hit(by_resource, duration, bucket, error);
    count_hit(by_service, duration, bucket, error);
}

void ag_aggmap_merge(ag_aggmap *into, const ag_aggmap *from)
{
    for (size_t i = 0; i < from->cap; i++) {
        const ag_agg_entry *f = &from->slots[i];
        if (!f->service) continue;
        reserve(into, 1);
        ag_agg_entry *e = find_or_insert(into, f->hash, f->minute, f->service, f->service_len,
                                         f->resource, f->resource_len, f->name, strlen(f->name));
        e->hits += f->hits;
        e->errors += f->errors;
        e->duration_sum += f->duration_sum;
        ag_hist_acc_merge(&e->hist, &f->hist);
    }
}

size_t ag_aggmap_hist_bytes(const ag_aggmap *m)
{
    size_t bytes = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].service && m->slots[i].hist.dense) bytes += sizeof(ag_hist);
    return bytes;
}
