/* Per-(block, service) chunk bitmaps and per-batch operation triples
 * (spanidx.h). */
#include "spanidx.h"
#include "hash.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void ag_spanidx_init(ag_spanidx *x) { memset(x, 0, sizeof *x); }

static size_t put_str(ag_spanidx *x, ag_str s)
{
    size_t off = x->data.len;
    ag_buf_append(&x->data, s.ptr, s.len);
    ag_buf_putc(&x->data, '\0');
    return off;
}

static bool str_is(const ag_spanidx *x, size_t off, ag_str s)
{
    const char *p = ag_spanidx_str(x, off);
    return strlen(p) == s.len && !memcmp(p, s.ptr, s.len);
}

static void svc_slots_grow(ag_spanidx *x)
{
    size_t cap = x->svc_slots_cap ? x->svc_slots_cap * 2 : 64;
    free(x->svc_slots);
    x->svc_slots = ag_xmalloc(cap * sizeof *x->svc_slots);
    for (size_t i = 0; i < cap; i++) x->svc_slots[i] = SIZE_MAX;
    x->svc_slots_cap = cap;
    for (size_t e = 0; e < x->svc_len; e++) {
        size_t h = (size_t)x->svc[e].hash & (cap - 1);
        while (x->svc_slots[h] != SIZE_MAX) h = (h + 1) & (cap - 1);
        x->svc_slots[h] = e;
    }
}

static bool svc_is(const ag_spanidx *x, size_t e, int64_t block, ag_str service)
{
    return x->svc[e].block == block && str_is(x, x->svc[e].service, service);
}

/* The entry of (block, service), created if need be. */
static ag_svc_entry *svc_get(ag_spanidx *x, int64_t block, int64_t row, ag_str service,
                             int64_t start)
{
    if (2 * (x->svc_len + 1) > x->svc_slots_cap) svc_slots_grow(x);
    uint64_t hash = ag_hash_bytes(service.ptr, service.len, (uint64_t)block);
    size_t h = (size_t)hash & (x->svc_slots_cap - 1);
    for (; x->svc_slots[h] != SIZE_MAX; h = (h + 1) & (x->svc_slots_cap - 1))
        if (x->svc[x->svc_slots[h]].hash == hash && svc_is(x, x->svc_slots[h], block, service))
            return &x->svc[x->svc_slots[h]];
    if (x->svc_len == x->svc_cap) {
        x->svc_cap = x->svc_cap ? x->svc_cap * 2 : 32;
        x->svc = ag_xrealloc(x->svc, x->svc_cap * sizeof *x->svc);
    }
    x->svc_slots[h] = x->svc_len;
    ag_svc_entry *e = &x->svc[x->svc_len++];
    *e = (ag_svc_entry){block, put_str(x, service), row, NULL, 0, start, start, -1, 0, hash};
    return e;
}

/* The entry of (block, service) for a span of the current chunk: by the
 * string's address when the chunk already hit it. */
static ag_svc_entry *svc_get_cached(ag_spanidx *x, int64_t block, int64_t row, ag_str service,
                                    int64_t start)
{
    for (size_t i = 0; i < x->seen_svc_len; i++)
        if (x->seen_svc[i].service == service.ptr && x->seen_svc[i].len == service.len)
            return &x->svc[x->seen_svc[i].entry];
    ag_svc_entry *e = svc_get(x, block, row, service, start);
    if (x->seen_svc_len < 8)
        x->seen_svc[x->seen_svc_len++] =
            (typeof(x->seen_svc[0])){service.ptr, service.len, (size_t)(e - x->svc)};
    return e;
}

static void note(ag_svc_entry *e, int64_t row, int64_t start, int64_t duration, int error)
{
    size_t bit = (size_t)(row - e->first_row);
    if (bit / 8 >= e->bits_len) {
        size_t len = bit / 8 + 1, cap = e->bits_len ? e->bits_len : 1;
        while (cap < len) cap *= 2;
        /* bits_len is the capacity; bytes past the last bit stay zero */
        e->bits = ag_xrealloc(e->bits, cap);
        memset(e->bits + e->bits_len, 0, cap - e->bits_len);
        e->bits_len = cap;
    }
    e->bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
    if (start < e->min_start) e->min_start = start;
    if (start > e->max_start) e->max_start = start;
    if (duration > e->max_duration) e->max_duration = duration;
    e->error |= error != 0;
}

void ag_spanidx_note(ag_spanidx *x, int64_t block, int64_t row, ag_str service, int64_t start,
                     int64_t duration, int error)
{
    note(svc_get(x, block, row, service, start), row, start, duration, error);
}

static uint64_t op_hash(const ag_span *s)
{
    uint64_t h = ag_hash_bytes(s->service.ptr, s->service.len, 0);
    h = ag_hash_bytes(s->name.ptr, s->name.len, h ^ 1);
    return ag_hash_bytes(s->resource.ptr, s->resource.len, h ^ 2);
}

static void ops_grow(ag_spanidx *x)
{
    size_t cap = x->ops_cap ? x->ops_cap * 2 : 64;
    ag_op_entry *ops = ag_xmalloc(cap * sizeof *ops);
    for (size_t i = 0; i < cap; i++) ops[i].service = SIZE_MAX;
    for (size_t i = 0; i < x->ops_cap; i++) {
        if (x->ops[i].service == SIZE_MAX) continue;
        size_t h = (size_t)x->ops[i].hash & (cap - 1);
        while (ops[h].service != SIZE_MAX) h = (h + 1) & (cap - 1);
        ops[h] = x->ops[i];
    }
    free(x->ops);
    x->ops = ops;
    x->ops_cap = cap;
}

static void add_op(ag_spanidx *x, const ag_span *s)
{
    /* the same address and length is the same string within the chunk */
    for (size_t i = 0; i < x->seen_op_len; i++)
        if (x->seen_op[i].service.ptr == s->service.ptr && x->seen_op[i].name.ptr == s->name.ptr &&
            x->seen_op[i].resource.ptr == s->resource.ptr &&
            x->seen_op[i].service.len == s->service.len && x->seen_op[i].name.len == s->name.len &&
            x->seen_op[i].resource.len == s->resource.len)
            return;
    if (x->seen_op_len < 8)
        x->seen_op[x->seen_op_len++] = (typeof(x->seen_op[0])){s->service, s->name, s->resource};
    if (2 * (x->ops_len + 1) > x->ops_cap) ops_grow(x);
    uint64_t hash = op_hash(s);
    size_t h = (size_t)hash & (x->ops_cap - 1);
    for (;; h = (h + 1) & (x->ops_cap - 1)) {
        ag_op_entry *e = &x->ops[h];
        if (e->service == SIZE_MAX) break;
        if (e->hash == hash && str_is(x, e->service, s->service) && str_is(x, e->name, s->name) &&
            str_is(x, e->resource, s->resource))
            return;
    }
    x->ops[h] =
        (ag_op_entry){put_str(x, s->service), put_str(x, s->name), put_str(x, s->resource), hash};
    x->ops_len++;
}

void ag_spanidx_add(ag_spanidx *x, const ag_trace *t, int64_t block, int64_t row, int64_t start)
{
    x->seen_svc_len = x->seen_op_len = 0;
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        note(svc_get_cached(x, block, row, s->service, start), row, start, s->duration, s->error);
        add_op(x, s);
    }
}

size_t ag_spanidx_bytes(const ag_spanidx *x)
{
    size_t bytes = x->data.cap + x->svc_cap * sizeof *x->svc + x->ops_cap * sizeof *x->ops +
                   x->svc_slots_cap * sizeof *x->svc_slots;
    for (size_t i = 0; i < x->svc_len; i++) bytes += x->svc[i].bits_len;
    return bytes;
}

void ag_spanidx_free(ag_spanidx *x)
{
    ag_buf_free(&x->data);
    for (size_t i = 0; i < x->svc_len; i++) free(x->svc[i].bits);
    free(x->svc);
    free(x->svc_slots);
    free(x->ops);
    ag_spanidx_init(x);
}
