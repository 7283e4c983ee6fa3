/* The service map's ingest side (see svcmap.h): an open-addressing table
 * of edges with linear probing, grown at 50% load, and the list of chunk
 * roots waiting for a parent from another chunk. Entries own their strings
 * and histogram so a map outlives the request that filled it. */
#include "svcmap.h"
#include "buf.h"
#include "hash.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void forget_recent(ag_svcmap *m)
{
    for (int i = 0; i < 4; i++) m->recent[i] = SIZE_MAX;
}

void ag_svcmap_init(ag_svcmap *m)
{
    memset(m, 0, sizeof *m);
    forget_recent(m);
}

void ag_svcmap_free(ag_svcmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        ag_svcmap_edge *e = &m->slots[i];
        if (!e->from) continue;
        free(e->env);
        free(e->from);
        free(e->to);
        ag_hist_acc_free(&e->hist);
    }
    free(m->slots);
    free(m->pending);
    free(m->strings);
    ag_svcmap_init(m);
}

static uint64_t edge_hash(int64_t minute, ag_str env, ag_str from, ag_str to)
{
    uint64_t h = AG_HASH_SEED ^ (uint64_t)minute * AG_HASH_GOLDEN;
    h = ag_hash_bytes(env.ptr, env.len, h);
    h = ag_hash_bytes(from.ptr, from.len, h ^ 1);
    return ag_hash_bytes(to.ptr, to.len, h ^ 2);
}

static int str_is(const char *s, uint32_t len, ag_str v)
{
    return len == v.len && (!len || !memcmp(s, v.ptr, len));
}

static int edge_is(const ag_svcmap_edge *e, uint64_t h, int64_t minute, ag_str env, ag_str from,
                   ag_str to)
{
    return e->hash == h && e->minute == minute && str_is(e->env, e->env_len, env) &&
           str_is(e->from, e->from_len, from) && str_is(e->to, e->to_len, to);
}

static void grow(ag_svcmap *m)
{
    if ((m->len + 1) * 2 <= m->cap) return;
    size_t cap = m->cap ? m->cap * 2 : 16;
    ag_svcmap_edge *slots = ag_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].from) continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (slots[j].from) j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    forget_recent(m);
}

static ag_svcmap_edge *recent_hit(ag_svcmap *m, int64_t minute, ag_str env, ag_str from, ag_str to)
{
    for (int i = 0; i < 4; i++) {
        size_t j = m->recent[i];
        if (j == SIZE_MAX) continue;
        ag_svcmap_edge *e = &m->slots[j];
        if (e->minute == minute && str_is(e->to, e->to_len, to) &&
            str_is(e->from, e->from_len, from) && str_is(e->env, e->env_len, env))
            return e;
    }
    return NULL;
}

static ag_svcmap_edge *find_or_insert(ag_svcmap *m, int64_t minute, ag_str env, ag_str from,
                                      ag_str to)
{
    ag_svcmap_edge *e = recent_hit(m, minute, env, from, to);
    if (e) return e;
    grow(m);
    uint64_t h = edge_hash(minute, env, from, to);
    size_t j = h & (m->cap - 1);
    m->recent_next = (m->recent_next + 1) & 3;
    for (; m->slots[j].from; j = (j + 1) & (m->cap - 1))
        if (edge_is(&m->slots[j], h, minute, env, from, to))
            return m->recent[m->recent_next] = j, &m->slots[j];
    m->recent[m->recent_next] = j;
    e = &m->slots[j];
    memset(e, 0, sizeof *e);
    e->minute = minute;
    e->env = ag_xstrndup(env.ptr ? env.ptr : "", env.len);
    e->from = ag_xstrndup(from.ptr ? from.ptr : "", from.len);
    e->to = ag_xstrndup(to.ptr ? to.ptr : "", to.len);
    e->env_len = (uint32_t)env.len;
    e->from_len = (uint32_t)from.len;
    e->to_len = (uint32_t)to.len;
    e->hash = h;
    m->len++;
    return e;
}

void ag_svcmap_add_edge(ag_svcmap *m, int64_t minute, ag_str env, ag_str from, ag_str to,
                        int64_t duration, int error)
{
    ag_svcmap_edge *e = find_or_insert(m, minute, env, from, to);
    e->calls++;
    e->errors += error != 0;
    e->duration_sum += duration;
    ag_hist_acc_add(&e->hist, ag_hist_bucket(duration), 1);
}

static size_t put_string(ag_svcmap *m, const char *s, size_t n)
{
    if (m->strings_len + n + 1 > m->strings_cap) {
        while (m->strings_len + n + 1 > m->strings_cap)
            m->strings_cap = m->strings_cap ? m->strings_cap * 2 : 256;
        m->strings = ag_xrealloc(m->strings, m->strings_cap);
    }
    size_t off = m->strings_len;
    if (n) memcpy(m->strings + off, s, n);
    m->strings[off + n] = '\0';
    m->strings_len += n + 1;
    return off;
}

static void add_pending(ag_svcmap *m, uint64_t trace_id, uint64_t parent_id, int64_t minute,
                        int64_t duration, int32_t error, ag_str service, ag_str env)
{
    if (m->pending_len == m->pending_cap) {
        m->pending_cap = m->pending_cap ? m->pending_cap * 2 : 16;
        m->pending = ag_xrealloc(m->pending, m->pending_cap * sizeof *m->pending);
    }
    ag_svcmap_pending *p = &m->pending[m->pending_len++];
    *p = (ag_svcmap_pending){trace_id, parent_id, minute, duration, error, 0, 0};
    p->service = put_string(m, service.ptr, service.len);
    p->env = put_string(m, env.ptr, env.len);
}

static ag_str span_env(const ag_span *s)
{
    ag_tag *env = ag_span_meta(s, "env");
    return env ? env->value : (ag_str){"", 0};
}

static int same_str(ag_str a, ag_str b)
{
    return a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len));
}

void ag_svcmap_add_chunk(ag_svcmap *m, const ag_trace *t, const long *parents)
{
    /* env is a setting of the process, and a chunk is one process's spans:
     * the first span that has one speaks for the chunk (one lookup, not
     * one a span) */
    ag_str env = {"", 0};
    for (size_t i = 0; i < t->len && !env.len; i++) env = span_env(&t->spans[i]);
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        int64_t minute = s->start / 1000000000LL / 60 * 60;
        if (parents[i] >= 0) {
            const ag_span *p = &t->spans[parents[i]];
            if (!same_str(p->service, s->service))
                ag_svcmap_add_edge(m, minute, env, p->service, s->service, s->duration, s->error);
        } else if (s->parent_id) {
            add_pending(m, s->trace_id, s->parent_id, minute, s->duration, s->error, s->service,
                        env);
        }
    }
}

void ag_svcmap_merge(ag_svcmap *into, const ag_svcmap *from)
{
    for (size_t i = 0; i < from->cap; i++) {
        const ag_svcmap_edge *f = &from->slots[i];
        if (!f->from) continue;
        ag_svcmap_edge *e =
            find_or_insert(into, f->minute, (ag_str){f->env, f->env_len},
                           (ag_str){f->from, f->from_len}, (ag_str){f->to, f->to_len});
        e->calls += f->calls;
        e->errors += f->errors;
        e->duration_sum += f->duration_sum;
        ag_hist_acc_merge(&e->hist, &f->hist);
    }
    for (size_t i = 0; i < from->pending_len; i++) {
        const ag_svcmap_pending *p = &from->pending[i];
        const char *svc = from->strings + p->service, *env = from->strings + p->env;
        add_pending(into, p->trace_id, p->parent_id, p->minute, p->duration, p->error,
                    (ag_str){svc, strlen(svc)}, (ag_str){env, strlen(env)});
    }
}

size_t ag_svcmap_bytes(const ag_svcmap *m)
{
    size_t bytes = m->cap * sizeof *m->slots + m->pending_cap * sizeof *m->pending + m->strings_cap;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].from && m->slots[i].hist.dense) bytes += sizeof(ag_hist);
    return bytes;
}
