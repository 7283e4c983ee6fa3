/* Reading a stored chunk's blob back (blob.h) for the query API.
 *
 * A row of traces holds its blob in one of two ways: rows written before
 * user_version 3 hold it inline in spans; later rows leave spans empty and
 * name a compressed block (block.h) of the blocks table, with the blob's
 * offset and length in the block's content. A reader keeps the last few
 * blocks it decompressed, because a search checks many chunks of the same
 * few blocks one after another (chunks that arrived together started
 * together). A reader belongs to one request on one connection. */
#ifndef AG_STOREDBLOB_H
#define AG_STOREDBLOB_H

#include "util.h"

#include <sqlite3.h>
#include <stddef.h>

/* The columns of traces a reader needs, in this order. */
#define AG_STORED_BLOB_COLUMNS "spans, block, block_offset, block_len"

typedef struct ag_stored_blobs ag_stored_blobs;

/* A reader over db (not owned). Never NULL (aborts on out-of-memory). */
ag_stored_blobs *ag_stored_blobs_new(sqlite3 *db);
/* Releases the reader and its cached blocks; NULL is fine. */
void ag_stored_blobs_free(ag_stored_blobs *r);

/* The blob of the row st is on, whose AG_STORED_BLOB_COLUMNS start at
 * column col. Returns 0 with *blob and *len, valid until the next call on
 * this reader or until st moves; -1 if the block is missing or damaged. */
AG_MUST_CHECK int ag_stored_blobs_get(ag_stored_blobs *r, sqlite3_stmt *st, int col,
                                      const void **blob, size_t *len);

#endif
