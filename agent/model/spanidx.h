/* What a batch contributes to span-level search: one entry per (block,
 * distinct service) saying which chunks of the block hold a span of that
 * service, and the set of (service, name, resource) triples of every span.
 * Computed on the HTTP thread as chunks are added to a batch (batch.h),
 * copied into SQLite by the store's writer.
 *
 * Why per block and not per chunk or span: a search by service must find
 * the traces in which that service has any span, also inside another
 * service's trace, but an index row per chunk and service (let alone per
 * span) more than doubled the single writer's work per chunk, the ingest
 * bottleneck. A block holds a few hundred chunks (block.h), so an entry per
 * (block, service), with a bitmap of its chunks, costs the writer a few
 * rows per block; it also carries what lets a search skip the whole block
 * for the duration and error filters (the longest span of the service in
 * the block and whether any is an error). The exact match is confirmed on
 * the decoded chunk (api.c). */
#ifndef AG_SPANIDX_H
#define AG_SPANIDX_H

#include "buf.h"
#include "span.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t block;                /* the block's key (an index in the batch's blocks) */
    size_t service;               /* offset of the NUL-terminated name in data */
    int64_t first_row;            /* bit k of bits is the chunk first_row + k */
    uint8_t *bits;                /* owned */
    size_t bits_len;              /* bytes */
    int64_t min_start, max_start; /* of those chunks */
    int64_t max_duration;         /* the longest span of the service among them */
    int32_t error;                /* whether any of those spans is an error */
    uint64_t hash;
} ag_svc_entry;

typedef struct {
    size_t service, name, resource; /* offsets in data */
    uint64_t hash;
} ag_op_entry;

typedef struct {
    ag_buf data;       /* the entries' strings */
    ag_svc_entry *svc; /* in order of creation */
    size_t svc_len, svc_cap;
    size_t *svc_slots; /* open addressing over svc; SIZE_MAX: empty */
    size_t svc_slots_cap;
    /* what this chunk's spans already hit, by string address (decoded
     * strings repeat their address within a chunk: one entry per distinct
     * service or triple is then hashed, not one per span); reset per chunk,
     * since an address may hold another string in the next request */
    struct {
        const char *service;
        size_t len, entry;
    } seen_svc[8];
    struct {
        ag_str service, name, resource;
    } seen_op[8];
    size_t seen_svc_len, seen_op_len;
    ag_op_entry *ops; /* open addressing, distinct triples; service SIZE_MAX: empty */
    size_t ops_len, ops_cap;
} ag_spanidx;

void ag_spanidx_init(ag_spanidx *x);
/* Notes that chunk `row` (rows only grow) of block `block` has a span of
 * service with that start, duration and error (service is copied: it
 * need not outlive the call). Never fails (aborts on
 * out-of-memory); hashed, so linear in what is noted whatever the names. */
void ag_spanidx_note(ag_spanidx *x, int64_t block, int64_t row, ag_str service, int64_t start,
                     int64_t duration, int error);
/* Notes every span of chunk t (row `row` of block `block`, chunk start
 * `start`) and adds each (service, name, resource) not seen yet. */
void ag_spanidx_add(ag_spanidx *x, const ag_trace *t, int64_t block, int64_t row, int64_t start);
/* The string at offset off of x->data. */
static inline const char *ag_spanidx_str(const ag_spanidx *x, size_t off)
{
    return x->data.data + off;
}
/* Heap bytes held, for queue accounting. */
size_t ag_spanidx_bytes(const ag_spanidx *x);
/* Releases everything x holds; x may be initialised again. */
void ag_spanidx_free(ag_spanidx *x);

#endif
