/* Aggregation maps (see agg.h): an open-addressing hash table with linear
 * probing, grown at 50% load. Entries own their strings and histogram so a
 * map can outlive the request that filled it. */
#include "agg.h"
#include "buf.h"
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
        free(e->hist);
    }
    free(m->slots);
    ag_aggmap_init(m);
}

static uint64_t key_hash(int64_t minute, const char *s, size_t sl, const char *r, size_t rl)
{
    uint64_t h = ag_fnv1a(&minute, sizeof minute, AG_FNV_SEED);
    h = ag_fnv1a(s, sl, h);
    h = ag_fnv1a("\0", 1, h);
    return r ? ag_fnv1a(r, rl, h ^ 1) : h;
}

static int key_eq(const ag_agg_entry *e, int64_t minute, const char *s, size_t sl,
                  const char *r, size_t rl)
{
    if (e->minute != minute || strlen(e->service) != sl || memcmp(e->service, s, sl)) return 0;
    if (!r || !e->resource) return !r && !e->resource;
    return strlen(e->resource) == rl && !memcmp(e->resource, r, rl);
}

static void grow(ag_aggmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
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

static ag_agg_entry *find_or_insert(ag_aggmap *m, int64_t minute, const char *s, size_t sl,
                                    const char *r, size_t rl, const char *n, size_t nl)
{
    /* consecutive spans usually repeat the previous key: skip the hash */
    size_t *last = &m->last[r != NULL];
    if (*last < m->cap && m->slots[*last].service &&
        key_eq(&m->slots[*last], minute, s, sl, r, rl))
        return &m->slots[*last];
    if ((m->len + 1) * 2 > m->cap) grow(m);
    uint64_t h = key_hash(minute, s, sl, r, rl);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].service) {
        if (m->slots[j].hash == h && key_eq(&m->slots[j], minute, s, sl, r, rl))
            return *last = j, &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    ag_agg_entry *e = &m->slots[j];
    memset(e, 0, sizeof *e);
    e->minute = minute;
    e->service = ag_xstrndup(s, sl);
    e->resource = r ? ag_xstrndup(r, rl) : NULL;
    e->name = ag_xstrndup(n ? n : "", n ? nl : 0);
    e->hist = ag_xcalloc(1, sizeof *e->hist);
    e->hash = h;
    m->len++;
    *last = j;
    return e;
}

void ag_aggmap_add(ag_aggmap *m, int64_t minute, const char *s, size_t sl, const char *r,
                   size_t rl, const char *n, size_t nl, int64_t duration, int error)
{
    ag_agg_entry *e = find_or_insert(m, minute, s, sl, r, rl, n, nl);
    e->hits++;
    e->errors += error != 0;
    e->duration_sum += duration;
    ag_hist_add(e->hist, duration);
}

void ag_aggmap_merge(ag_aggmap *into, const ag_aggmap *from)
{
    for (size_t i = 0; i < from->cap; i++) {
        const ag_agg_entry *f = &from->slots[i];
        if (!f->service) continue;
        ag_agg_entry *e = find_or_insert(into, f->minute, f->service, strlen(f->service),
                                         f->resource, f->resource ? strlen(f->resource) : 0,
                                         f->name, strlen(f->name));
        e->hits += f->hits;
        e->errors += f->errors;
        e->duration_sum += f->duration_sum;
        ag_hist_merge(e->hist, f->hist);
    }
}
