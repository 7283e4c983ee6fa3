/* Per-chunk service entries and per-batch operation triples (spanidx.h). */
#include "spanidx.h"
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

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

/* Distinct services of one chunk: a hash of span indexes into t, so the
 * work stays linear in spans however many services a hostile chunk names. */
static void add_services(ag_spanidx *x, const ag_trace *t, size_t row)
{
    size_t cap = pow2_at_least(2 * t->len), small[64];
    size_t *slot = cap <= 64 ? small : ag_xmalloc(cap * sizeof *slot);
    for (size_t i = 0; i < cap; i++) slot[i] = SIZE_MAX;
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        size_t h = (size_t)ag_fnv1a(s->service.ptr, s->service.len, 0) & (cap - 1);
        while (slot[h] != SIZE_MAX && !str_is(x, x->svc[slot[h]].service, s->service))
            h = (h + 1) & (cap - 1);
        if (slot[h] == SIZE_MAX) {
            if (x->svc_len == x->svc_cap) {
                x->svc_cap = x->svc_cap ? x->svc_cap * 2 : 64;
                x->svc = ag_xrealloc(x->svc, x->svc_cap * sizeof *x->svc);
            }
            slot[h] = x->svc_len;
            x->svc[x->svc_len++] = (ag_svc_entry){row, put_str(x, s->service), s->span_id,
                                                  s->duration, s->error != 0};
            continue;
        }
        ag_svc_entry *e = &x->svc[slot[h]];
        if (s->duration > e->duration) e->duration = s->duration, e->span_id = s->span_id;
        e->error |= s->error != 0;
    }
    if (slot != small) free(slot);
}

static uint64_t op_hash(const ag_span *s)
{
    uint64_t h = ag_fnv1a(s->service.ptr, s->service.len, 0);
    h = ag_fnv1a("\0", 1, h);
    h = ag_fnv1a(s->name.ptr, s->name.len, h);
    h = ag_fnv1a("\0", 1, h);
    return ag_fnv1a(s->resource.ptr, s->resource.len, h);
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
    x->ops[h] = (ag_op_entry){put_str(x, s->service), put_str(x, s->name), put_str(x, s->resource), hash};
    x->ops_len++;
}

void ag_spanidx_add(ag_spanidx *x, const ag_trace *t, size_t row)
{
    add_services(x, t, row);
    for (size_t i = 0; i < t->len; i++) add_op(x, &t->spans[i]);
}

size_t ag_spanidx_bytes(const ag_spanidx *x)
{
    return x->data.cap + x->svc_cap * sizeof *x->svc + x->ops_cap * sizeof *x->ops;
}

void ag_spanidx_free(ag_spanidx *x)
{
    ag_buf_free(&x->data);
    free(x->svc);
    free(x->ops);
    ag_spanidx_init(x);
}
