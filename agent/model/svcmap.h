/* The service map: calls from one service to another, per minute.
 *
 * An edge is (minute, env, caller service, callee service), counting the
 * callee spans' calls, errors, total duration and a latency histogram
 * (hist.h, 1% relative error). Edges come from two places:
 *
 *  - in-process: a span whose parent is in the same chunk with another
 *    service; counted at ingest, like the other aggregates (agg.h);
 *  - cross-process: a chunk root whose parent_id names a span of another
 *    chunk (another process: propagated context). Its parent may arrive in
 *    another payload, before or after it, so ingest only records the child
 *    as pending (trace id, parent id, service, env, minute, duration,
 *    error). A background pass (ag_svcmap_resolve, on the retention
 *    thread) looks the parent up in the stored chunks of that trace and
 *    turns a found one into an edge. A pending child whose parent is still
 *    missing after the wait is dropped and counted per (minute, service) in
 *    svcmap_unresolved: it is never an edge.
 *
 * The tables, the resolution pass and retention are the store's
 * (store/svcmap_store.h); this header is the in-memory side only, so the
 * intake builds edges without seeing SQLite. */
#ifndef AG_SVCMAP_H
#define AG_SVCMAP_H

#include "hist.h"
#include "span.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t minute;        /* unix seconds, multiple of 60 */
    char *env, *from, *to; /* owned, NUL-terminated */
    uint32_t env_len, from_len, to_len;
    uint64_t calls, errors;
    int64_t duration_sum;
    ag_hist_acc hist; /* owns its dense part */
    uint64_t hash;
} ag_svcmap_edge;

/* A chunk root whose parent is in another chunk. */
typedef struct {
    uint64_t trace_id, parent_id;
    int64_t minute, duration;
    int32_t error;
    size_t service, env; /* offsets of NUL-terminated strings in strings */
} ag_svcmap_pending;

typedef struct {
    ag_svcmap_edge *slots; /* open addressing; from == NULL is empty */
    size_t cap, len;
    size_t recent[4]; /* slots of the last edges counted: a chunk's
                                   spans repeat a few edges, and comparing
                                   them is cheaper than hashing three names */
    unsigned recent_next;
    ag_svcmap_pending *pending;
    size_t pending_len, pending_cap;
    char *strings; /* the pending rows' strings */
    size_t strings_len, strings_cap;
} ag_svcmap;

void ag_svcmap_init(ag_svcmap *m);
/* Frees everything m owns; m is empty afterwards. */
void ag_svcmap_free(ag_svcmap *m);
/* Counts one call from -> to. Strings are copied. Never fails (aborts on
 * OOM, the agent's policy). */
void ag_svcmap_add_edge(ag_svcmap *m, int64_t minute, ag_str env, ag_str from, ag_str to,
                        int64_t duration, int error);
/* The edges and pending children of a normalized chunk; parents as
 * ag_batch_find_parents computes them. Never fails. */
void ag_svcmap_add_chunk(ag_svcmap *m, const ag_trace *t, const long *parents);
/* Adds every edge and pending child of from into into. Never fails. */
void ag_svcmap_merge(ag_svcmap *into, const ag_svcmap *from);
/* Heap bytes m holds, for the intake's memory accounting. */
size_t ag_svcmap_bytes(const ag_svcmap *m);

#endif
