/* The service map's tables: svcmap_minutes (edges per minute),
 * svcmap_pending (cross-process children waiting for their parent) and
 * svcmap_unresolved (those dropped after the wait, per minute and service).
 *
 * The in-memory edge model is model/svcmap.h; this is where it meets SQLite.
 * The writer thread upserts a commit's edges (ag_svcmap_write), the
 * retention thread resolves pending children against the stored chunks
 * (ag_svcmap_resolve) and deletes old minutes (ag_svcmap_expire). Each
 * function works on the connection the caller owns. The tables are created
 * with the store's (CREATE IF NOT EXISTS). */
#ifndef AG_SVCMAP_STORE_H
#define AG_SVCMAP_STORE_H

#include "svcmap.h"
#include "util.h"

#include <sqlite3.h>
#include <stdint.h>

/* The tables, for the store's schema script. */
extern const char AG_SVCMAP_SCHEMA[];

/* Upserts m's edges and inserts its pending children on db, inside the
 * caller's transaction. now_s stamps the pending rows. Returns 0, or -1 on
 * a SQLite error (the caller rolls back). */
AG_MUST_CHECK int ag_svcmap_write(sqlite3 *db, const ag_svcmap *m, int64_t now_s);

/* One step of a resolution pass, in its own transaction: up to `limit`
 * pending rows after *after_id (0 to start), oldest first, are looked up in
 * the stored chunks of their trace; a parent of another service makes an
 * edge, one of the same service (a chunk flushed apart) none; rows pending
 * for wait_s seconds without a parent are counted in svcmap_unresolved;
 * all those are deleted, the others wait for the next pass. *after_id
 * advances past the rows examined. Returns how many were examined (under
 * limit: the pass is over), -1 on a database error (message on stderr). */
int64_t ag_svcmap_resolve(sqlite3 *db, int64_t now_s, double wait_s, int limit, int64_t *after_id);

/* Deletes the rows of minutes before cutoff_s (retention). */
void ag_svcmap_expire(sqlite3 *db, int64_t cutoff_s);

#endif
