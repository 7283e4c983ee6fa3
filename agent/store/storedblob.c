/* Stored blobs (see storedblob.h): a small least-recently-used cache of
 * decompressed blocks, looked up by a linear scan (a search rarely touches
 * more than a few dozen blocks, and 16 ids are one cache line pair). */
#include "storedblob.h"
#include "block.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>

enum { CACHED_BLOCKS = 16 };

typedef struct {
    int64_t id;    /* 0: empty (block ids start at 1) */
    uint64_t used; /* tick of the last use */
    ag_buf content;
} cached_block;

struct ag_stored_blobs {
    sqlite3 *db;
    sqlite3_stmt *select_block;
    uint64_t tick;
    cached_block cache[CACHED_BLOCKS];
};

ag_stored_blobs *ag_stored_blobs_new(sqlite3 *db)
{
    ag_stored_blobs *r = ag_xcalloc(1, sizeof *r);
    r->db = db;
    return r;
}

void ag_stored_blobs_free(ag_stored_blobs *r)
{
    if (!r) return;
    sqlite3_finalize(r->select_block);
    for (int i = 0; i < CACHED_BLOCKS; i++) ag_buf_free(&r->cache[i].content);
    free(r);
}

/* The cached content of block id, reading and decompressing it on a miss
 * into the least recently used slot. NULL if missing or damaged. */
static const ag_buf *block_content(ag_stored_blobs *r, int64_t id)
{
    cached_block *victim = &r->cache[0];
    for (int i = 0; i < CACHED_BLOCKS; i++) {
        cached_block *c = &r->cache[i];
        if (c->id == id) {
            c->used = ++r->tick;
            return &c->content;
        }
        if (c->used < victim->used) victim = c;
    }
    if (!r->select_block && sqlite3_prepare_v2(r->db, "SELECT data FROM blocks WHERE id = ?", -1,
                                               &r->select_block, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(r->select_block, 1, id);
    int ok = sqlite3_step(r->select_block) == SQLITE_ROW &&
             ag_block_decompress(sqlite3_column_blob(r->select_block, 0),
                                 (size_t)sqlite3_column_bytes(r->select_block, 0),
                                 &victim->content) == 0;
    sqlite3_reset(r->select_block);
    victim->id = ok ? id : 0;
    victim->used = ok ? ++r->tick : 0;
    return ok ? &victim->content : NULL;
}

int ag_stored_blobs_get(ag_stored_blobs *r, sqlite3_stmt *st, int col, const void **blob,
                        size_t *len)
{
    if (sqlite3_column_type(st, col + 1) == SQLITE_NULL) { /* inline, before blocks */
        *blob = sqlite3_column_blob(st, col);
        *len = (size_t)sqlite3_column_bytes(st, col);
        return 0;
    }
    const ag_buf *content = block_content(r, sqlite3_column_int64(st, col + 1));
    int64_t offset = sqlite3_column_int64(st, col + 2), n = sqlite3_column_int64(st, col + 3);
    if (!content || offset < 0 || n < 0 || (uint64_t)offset + (uint64_t)n > content->len) return -1;
    *blob = content->data + offset;
    *len = (size_t)n;
    return 0;
}
