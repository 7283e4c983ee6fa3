/* Retention: a background thread that deletes the oldest chunks when they
 * are older than --retention or when the database is larger than
 * --max-size, in small transactions so intake only ever waits for one of
 * them, and gives the freed pages back to the file system. */
#ifndef AG_RETENTION_H
#define AG_RETENTION_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct ag_retention ag_retention;

/* Starts the thread (first pass right away). Each pass also resolves the
 * service map's pending children (svcmap.h), giving up on a parent after
 * svcmap_wait seconds; with max_age and max_size 0 it only does that. Aborts when out of memory or
 * when the thread cannot start, as the agent does (buf.h); never NULL. */
ag_retention *ag_retention_start(const char *db_path, double max_age_seconds,
                                 uint64_t max_size_bytes, double interval_seconds,
                                 double svcmap_wait_seconds);
/* Interrupts a pass between two transactions and joins. NULL ok. */
void ag_retention_stop(ag_retention *r);

/* One pass on db. *stop is polled between transactions (atomic: another
 * thread sets it while the pass runs). Returns the number
 * of chunks deleted, or -1 on a database error (message on stderr). */
int64_t ag_retention_pass(sqlite3 *db, double max_age_seconds, uint64_t max_size_bytes,
                          atomic_int *stop);

#endif
