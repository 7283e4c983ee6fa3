/* Durable storage in one SQLite file (WAL), with group commit.
 *
 * Requests never write to SQLite themselves: they hand a finished batch
 * (batch.h) to ag_store_submit, which queues it; the submitter is called
 * back once the batch is durable, so no HTTP thread sleeps on the disk.
 * Three threads own the file:
 * - the writer takes *every* batch queued while its previous commit ran and
 *   writes them in one transaction, so under load SQLite's per-transaction
 *   cost is paid once per group, not per request;
 * - the syncer (sync_full only) fdatasyncs the WAL after each commit and
 *   only then calls back that group's submitters, while the writer already
 *   commits the next group: one fsync covers many requests, and a commit
 *   cycle costs max(write, fsync), not their sum (store.c has the proof
 *   that this is as durable as synchronous=FULL); without sync_full the
 *   writer calls back itself after COMMIT;
 * - the checkpointer copies the WAL into the database so the writer never
 *   stalls on it.
 * Readers (query API) use their own connections from a small pool and see
 * committed data only.
 *
 * Tables: traces (one row per chunk: its summary, and where its blob,
 * blob.h, lies in a block; indexed by id range and trace id, and by
 * service and start, walk.h), blocks (the chunks' blobs compressed, block.h),
 * service_minutes and resource_minutes (per-minute aggregates with
 * histograms), operations (names and resources seen per service, on any
 * span), block_services (which chunks of each block hold a span of each
 * service, for span-level search: spanidx.h).
 *
 * Why trace ids are indexed per id range: trace ids are random, so a
 * plain index on them puts every new row on a different leaf page, and
 * every commit rewrites one whole 8 KiB page per row into the WAL (and the
 * checkpoint copies it again): the cost of a row grew with the database,
 * to several times the row itself. Keyed by (id range, trace id), where a
 * range is 4096 consecutive row ids, new entries all fall in the last
 * range, a handful of pages. A lookup by trace id pays instead: one index
 * probe per range (AG_TRACE_BY_ID_SQL), ~250 probes at a million chunks,
 * about a millisecond. */
#ifndef AG_STORE_H
#define AG_STORE_H

#include "batch.h"
#include "storedblob.h"
#include "util.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* The id range of a row of traces: 4096 consecutive ids (see above). */
#define AG_ID_RANGE_SHIFT "12"
#define AG_ID_RANGE_OF_ID "(id >> " AG_ID_RANGE_SHIFT ")"

/* Every chunk of trace ?1 (low 64 bits), oldest first: trace_id_high,
 * then AG_STORED_BLOB_COLUMNS. The CROSS JOIN keeps the ranges as the
 * outer loop, so each is one probe of the (id range, trace id) index. */
#define AG_TRACE_BY_ID_SQL                                                                     \
    "WITH RECURSIVE id_range(r) AS (SELECT (SELECT min(id) FROM traces) >> " AG_ID_RANGE_SHIFT \
    " UNION ALL SELECT r + 1 FROM id_range"                                                    \
    " WHERE r < (SELECT max(id) FROM traces) >> " AG_ID_RANGE_SHIFT ")"                        \
    " SELECT trace_id_high, " AG_STORED_BLOB_COLUMNS " FROM id_range CROSS JOIN traces"        \
    " ON " AG_ID_RANGE_OF_ID " = id_range.r AND trace_id = ?1 ORDER BY id"

typedef struct ag_store ag_store;

typedef struct {
    const char *path;       /* the database file */
    bool sync_full;         /* fsync the WAL on every commit (default) */
    size_t max_queue_bytes; /* submitters wait while more is queued */
    bool check_integrity;   /* PRAGMA quick_check before serving */
} ag_store_opts;

/* ag_store_open's result for a damaged database (other failures: -1). */
#define AG_STORE_DAMAGED (-2)
/* A submitted batch's status when the disk is full (other failures: -1). */
#define AG_STORE_FULL (-3)
/* What the agent says after it found the database damaged. */
#define AG_STORE_RECOVERY_HINT                                                               \
    "To recover: stop ctrace-agent, move ctrace.db (and ctrace.db-wal, ctrace.db-shm) out\n" \
    "of the data directory and start it again, which creates an empty database. To rescue\n" \
    "what is readable: sqlite3 OLD.db .recover | sqlite3 DATA_DIR/ctrace.db (agent stopped).\n"

typedef struct {
    uint64_t commits, batches, traces, spans, failed_commits;
} ag_store_stats;

/* Opens (creating if needed) the database and starts the writer and
 * checkpointer threads (aborting if a thread cannot start). Returns 0 and
 * *out; on a disk too full for the writer to open, 0 and a read-only
 * store (ag_store_read_only: readers only, every batch AG_STORE_FULL); AG_STORE_DAMAGED when the integrity check fails, -1 on any other
 * failure, both with a reason in err. */
AG_MUST_CHECK int ag_store_open(const ag_store_opts *opts, ag_store **out, char *err,
                                size_t errlen);
/* Drains the queue, stops the threads, closes every connection. NULL ok. */
void ag_store_close(ag_store *s);

/* Called once per submitted batch with 0 when it is committed and durable,
 * AG_STORE_FULL when the disk had no room for it (the WAL is then
 * truncated to give space back), -1 when its commit failed otherwise or
 * the store is closing. It runs on a store
 * thread (or, when the store is closing, on the submitter's), with the
 * store's lock held: it must be quick and must not call into the store.
 * The batch is freed after it returns. */
typedef void ag_store_done_fn(void *arg, int status);

/* Queues b; done(arg, status) follows exactly once. Takes ownership of b.
 * Blocks only while the queue is over max_queue_bytes (backpressure). */
void ag_store_submit(ag_store *s, ag_batch *b, ag_store_done_fn *done, void *arg);

/* A read-only connection from the pool; never NULL unless the database
 * cannot be opened (then NULL). Give it back with ag_store_release. */
sqlite3 *ag_store_reader(ag_store *s);
void ag_store_release(ag_store *s, sqlite3 *db);

const char *ag_store_path(const ag_store *s);

/* A reader's error with SQLite (extended) result code `code`: when it
 * says the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB), the store
 * logs it with AG_STORE_RECOVERY_HINT once and ag_store_damage reports
 * it from then on. Other codes are ignored. */
void ag_store_note_read_error(ag_store *s, int code, const char *what);
/* Whether the last commit failed for want of space (or the store is
 * read-only, or it opened with under 1 MiB free and has not committed since). */
bool ag_store_disk_full(ag_store *s);
/* Whether the store was opened read-only on a full disk. */
bool ag_store_read_only(const ag_store *s);
/* Whether damage was seen since the store opened; its description in out. */
bool ag_store_damage(ag_store *s, char *out, size_t outlen);
void ag_store_get_stats(ag_store *s, ag_store_stats *out);

/* A new connection with the agent's pragmas and SQL functions, for a
 * thread of its own (retention) or a tool (summary). Returns NULL and a
 * reason in err on failure. The caller closes it with sqlite3_close. */
AG_MUST_CHECK sqlite3 *ag_store_connect(const char *path, bool readonly, char *err, size_t errlen);

/* Where the store lives unless --data says otherwise (the server and the
 * summary command share it): $XDG_DATA_HOME/ctrace or
 * ~/.local/share/ctrace. malloc'd, the caller frees it; never fails (aborts
 * on out of memory). */
char *ag_default_data_dir(void);

#endif
