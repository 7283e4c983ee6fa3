/* A batch: everything one request will write, built before the request
 * touches the database.
 *
 * The HTTP thread decodes and normalizes each chunk, then adds it here:
 * the trace row (root service/resource/name, start, duration, error, span
 * count, 128-bit id), the chunk's blob (blob.h) into the open block, and
 * the request's share of the per-minute aggregates (agg.h); full blocks
 * are compressed (block.h) as they fill, the last by ag_batch_seal. The
 * store's writer then only copies rows and blocks into SQLite, which keeps
 * the single writer thread, the bottleneck, doing as little as possible. */
#ifndef AG_BATCH_H
#define AG_BATCH_H

#include "agg.h"
#include "blob.h"
#include "block.h"
#include "span.h"
#include "spanidx.h"
#include "svcmap.h"

#include <pthread.h>
#include <stdbool.h>

typedef struct {
    uint64_t trace_id, trace_id_high;
    int64_t start, duration;
    int32_t error;
    uint32_t span_count;
    size_t service, resource, name; /* offsets of NUL-terminated strings in data */
    size_t block;                   /* index in blocks; rows are in block order */
    size_t blob, blob_len;          /* offset and length of the blob in the block's content */
} ag_row;

typedef struct ag_batch {
    ag_buf data; /* the rows' strings */
    ag_row *rows;
    size_t rows_len, rows_cap;
    ag_buf *blocks; /* compressed blocks (block.h) */
    size_t blocks_len, blocks_cap;
    ag_buf content; /* the open block: blobs not compressed yet */
    ag_aggmap agg;
    ag_spanidx idx;   /* span-level search entries (spanidx.h) */
    ag_svcmap svcmap; /* service-map edges and pending children */
    uint64_t spans;
    uint64_t dropped_chunks;
    uint64_t parent_probes; /* hash slots examined finding parents:
                                         the tests check it stays linear */
    ag_blob_encoder enc;
    /* owned by the store while queued */
    struct ag_batch *next;
    size_t queued_bytes;                    /* what it counts in the store's queue */
    void (*on_done)(void *arg, int status); /* the submitter's (store.h) */
    void *on_done_arg;
} ag_batch;

ag_batch *ag_batch_new(void);
/* Adds a normalized chunk (see normalize.h). Never fails. */
void ag_batch_add(ag_batch *b, const ag_trace *t);
/* Compresses the open block, if any: call it once every chunk is added,
 * before the batch goes to the store. Never fails. */
void ag_batch_seal(ag_batch *b);
/* The blob of row r of a sealed batch, its block decompressed into
 * scratch (the caller's, reusable). NULL only if the block is damaged,
 * which a batch built here never is (tests and the fuzz target check). */
const char *ag_batch_row_blob(const ag_batch *b, const ag_row *r, ag_buf *scratch);
/* Releases the batch and everything it owns; NULL is fine. */
void ag_batch_free(ag_batch *b);
/* Memory the batch holds, for queue accounting. */
size_t ag_batch_bytes(const ag_batch *b);

/* parents[i] (t->len entries, the caller's) = index of span i's parent in
 * the chunk, or -1: the first span k != i whose span_id is span i's
 * parent_id. Linear in spans for any ids, duplicates included (a seeded
 * hash); adds the hash slots it examined to b->parent_probes. Never fails.
 * ag_batch_add calls it; exposed for the tests. */
void ag_batch_find_parents(ag_batch *b, const ag_trace *t, long *parents);

/* Whether a span counts as a hit for its service: a root, a span whose
 * parent is another service's or not in the chunk, or one the tracer marked
 * _dd.top_level or _dd.measured. parent_index is -1 if the parent is absent. */
bool ag_span_is_top_level(const ag_trace *t, size_t i, long parent_index);

#endif
