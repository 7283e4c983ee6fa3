/* SQLite storage with group commit (see store.h for the design).
 *
 * Durability contract: ag_store_submit calls back with 0 only after COMMIT returned
 * SQLITE_OK; with synchronous=FULL the WAL was fsynced by then, so the
 * request's data survives kill -9 and power loss; the HTTP layer answers 200
 * only after that. A failed commit rolls the whole group back and every
 * request of the group gets an error reply, so nothing half-written is ever
 * acknowledged.
 *
 * Pipelined fsync (with --sync full): the writer's connection runs with
 * synchronous=NORMAL, so COMMIT writes the group's WAL frames without
 * waiting for the disk, and the group moves on to the syncer thread, which
 * fdatasyncs the WAL file and only then calls back the group's submitters. While
 * the disk flushes group N the writer already writes group N+1, so a
 * commit cycle costs max(write, fsync) instead of their sum. The guarantee
 * is the one synchronous=FULL gives: a 200 is sent after an fsync that
 * covers the group's commit frame and the WAL header (one fdatasync of the
 * file covers every page written before it, whoever wrote it). A crash
 * before that fsync loses only unacknowledged groups; WAL recovery stops
 * at the last intact commit frame, so the file is consistent either way
 * (SQLite's own guarantee for synchronous=NORMAL). Checkpoints still sync
 * the WAL before copying it and the database after.
 *
 * Backpressure: the queue is bounded in bytes; a submitter waits for room,
 * which slows clients down instead of growing memory. */
#include "store.h"
#include "buf.h"
#include "hist.h"
#include "svcmap_store.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    READER_POOL = 16,
    WAL_RESTART_FRAMES = 16384, /* 128 MiB of 8 KiB pages */
    WAL_LOW_DISK_FRAMES = 256,  /* 2 MiB, when the disk runs low */
};
#define LOW_DISK_BYTES (256ULL << 20)
/* Under this, a commit of one ordinary payload (its blocks, rows and WAL
 * frames) cannot fit: the disk is as good as full. */
#define FULL_DISK_BYTES (1ULL << 20)
enum { OPS_SEEN_SLOTS = 4096 };

struct ag_store {
    char *path;
    sqlite3 *db; /* the writer's connection */
    sqlite3_stmt *ins_trace, *ins_block, *up_service, *up_resource, *ins_op, *ins_svc;
    pthread_t writer, checkpointer, syncer;
    pthread_mutex_t mu;
    pthread_cond_t work, space, synced;
    ag_batch *head, *tail;
    /* pipelined fsync: committed groups waiting for the WAL fsync */
    bool sync_wal;
    ag_batch *unsynced_head, *unsynced_tail;
    bool writer_stopped;
    int wal_fd;
    dev_t wal_dev;
    ino_t wal_ino;
    size_t queued_bytes, max_queue_bytes;
    bool stopping;
    ag_store_stats stats;
    /* readers */
    pthread_mutex_t pool_mu;
    sqlite3 *pool[READER_POOL];
    int pool_len;
    /* checkpointer */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cond;
    bool ck_stop;
    /* the first sign of a damaged database (mu), "" while none was seen */
    char damage[256];
    bool disk_full;   /* the writer's last commit failed for want of space (mu) */
    bool ck_truncate; /* ck_mu: the checkpointer truncates the WAL now */
    bool read_only;   /* opened on a full disk: no writer (store.h) */
    bool disk_low;    /* writer: under LOW_DISK_BYTES free at the last look */
    /* writer: hashes of (service, name, resource) triples already in
     * operations, direct-mapped, so each batch's triples (a few dozen, the
     * same ones batch after batch) cost no INSERT once stored; emptied when
     * a commit fails, since its inserts were rolled back */
    uint64_t ops_seen[OPS_SEEN_SLOTS];
    int64_t disk_checked_ns; /* writer: when it looked */
};

#define AG_INSERT_BLOCK_SERVICE_SQL                                                         \
    "INSERT INTO block_services(service, block, first_chunk, chunks, min_start, max_start," \
    " max_duration, error) VALUES(?,?,?,?,?,?,?,?)"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS traces("
    " id INTEGER PRIMARY KEY,"
    " trace_id INTEGER NOT NULL," /* low 64 bits, stored as signed */
    " trace_id_high INTEGER NOT NULL,"
    " start INTEGER NOT NULL,"    /* ns since the epoch */
    " duration INTEGER NOT NULL," /* ns */
    " service TEXT NOT NULL, resource TEXT NOT NULL, name TEXT NOT NULL,"
    " error INTEGER NOT NULL, span_count INTEGER NOT NULL,"
    /* the chunk's blob (blob.h): inline in spans before user_version 3,
     * since then empty, the blob being in a block (block.h, storedblob.h) */
    " spans BLOB NOT NULL, block INTEGER, block_offset INTEGER, block_len INTEGER);"
    "CREATE TABLE IF NOT EXISTS blocks(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    /* before user_version 2, trace ids were indexed alone (store.h); in 2,
     * the same index as now had another name */
    "DROP INDEX IF EXISTS traces_by_trace_id;"
    "DROP INDEX IF EXISTS traces_by_block_trace_id;"
    "CREATE INDEX IF NOT EXISTS traces_by_range_trace_id ON traces(" AG_ID_RANGE_OF_ID
    ", trace_id);"
    /* no index on start alone any more: walk.h */
    "DROP INDEX IF EXISTS traces_by_start;"
    "CREATE INDEX IF NOT EXISTS traces_by_service ON traces(service, start);"
    "CREATE TABLE IF NOT EXISTS service_minutes("
    " minute INTEGER NOT NULL, service TEXT NOT NULL, hits INTEGER NOT NULL,"
    " errors INTEGER NOT NULL, duration_sum INTEGER NOT NULL, hist BLOB NOT NULL,"
    " PRIMARY KEY(minute, service)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS resource_minutes("
    " service TEXT NOT NULL, minute INTEGER NOT NULL, resource TEXT NOT NULL,"
    " name TEXT NOT NULL, hits INTEGER NOT NULL, errors INTEGER NOT NULL,"
    " duration_sum INTEGER NOT NULL, hist BLOB NOT NULL,"
    " PRIMARY KEY(service, minute, resource)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS operations("
    " service TEXT NOT NULL, name TEXT NOT NULL, resource TEXT NOT NULL,"
    " PRIMARY KEY(service, name, resource)) WITHOUT ROWID;"
    /* span-level search (spanidx.h): per (block, service), which chunks
     * (bit k: chunk first_chunk + k) hold a span of the service; by block
     * too, for retention (block ids only grow: appended, a page a commit) */
    "CREATE TABLE IF NOT EXISTS block_services("
    " service TEXT NOT NULL, block INTEGER NOT NULL, first_chunk INTEGER NOT NULL,"
    " chunks BLOB NOT NULL, min_start INTEGER NOT NULL, max_start INTEGER NOT NULL,"
    " max_duration INTEGER NOT NULL, error INTEGER NOT NULL,"
    " PRIMARY KEY(service, block)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS block_services_by_block ON block_services(block);"
    "PRAGMA user_version = 5;";
enum { AG_SCHEMA_VERSION = 5 }; /* the user_version SCHEMA sets */

/* ag_hist_merge(a, b): the sum of two encoded histograms (upserts). */
static void sql_hist_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ag_hist h;
    memset(&h, 0, sizeof h);
    for (int i = 0; i < argc; i++) {
        const void *p = sqlite3_value_blob(argv[i]);
        int n = sqlite3_value_bytes(argv[i]);
        if (p && n > 0 && ag_hist_decode_add(&h, p, (size_t)n)) {
            sqlite3_result_error(ctx, "malformed histogram", -1);
            return;
        }
    }
    unsigned char out[AG_HIST_ENCODED_MAX];
    size_t len = ag_hist_encode(&h, out);
    sqlite3_result_blob(ctx, out, (int)len, SQLITE_TRANSIENT);
}

/* ag_hist_upgrade(old): a histogram of user_version <= 3 re-encoded; a
 * damaged one becomes empty (its row keeps its hits and errors) rather
 * than stopping the upgrade of everything else. */
static void sql_hist_upgrade(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ag_hist h;
    memset(&h, 0, sizeof h);
    const void *p = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    (void)argc;
    if (p && n > 0 && ag_hist_upgrade_add(&h, p, (size_t)n)) memset(&h, 0, sizeof h);
    unsigned char out[AG_HIST_ENCODED_MAX];
    size_t len = ag_hist_encode(&h, out);
    sqlite3_result_blob(ctx, out, (int)len, SQLITE_TRANSIENT);
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    if (err) snprintf(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

/* ag_store_connect, also giving the failure's SQLite result code. */
static sqlite3 *connect_db(const char *path, bool readonly, char *err, size_t errlen, int *code)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        *code = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_create_function(db, "ag_hist_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            sql_hist_merge, NULL, NULL);
    sqlite3_create_function(db, "ag_hist_upgrade", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            sql_hist_upgrade, NULL, NULL);
    if (exec(db,
             "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
             "PRAGMA mmap_size=268435456;",
             err, errlen)) {
        *code = sqlite3_extended_errcode(db);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

sqlite3 *ag_store_connect(const char *path, bool readonly, char *err, size_t errlen)
{
    int code;
    return connect_db(path, readonly, err, errlen, &code);
}

static int prepare(ag_store *s, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "prepare failed: %s", sqlite3_errmsg(s->db));
    return -1;
}

static int write_block_services(sqlite3_stmt *st, const ag_spanidx *x, const int64_t *block_ids,
                                const int64_t *row_ids);

/* The block_services entries of the chunks stored before user_version 5,
 * from their rows (root service, start, duration, error): one pass in id
 * order. A chunk stored inline (before user_version 3) has no block: the
 * negated chunk id stands for it. */
static int index_stored_roots(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    ag_spanidx x;
    ag_spanidx_init(&x);
    /* built anew: a database opened by this version, then by an older one, has rows */
    int rc = sqlite3_exec(db, "DELETE FROM block_services", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "SELECT id, coalesce(block, -id), service, start, duration,"
                                " error FROM traces ORDER BY id",
                                -1, &sel, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, AG_INSERT_BLOCK_SERVICE_SQL, -1, &ins, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        ag_str service = {(const char *)sqlite3_column_text(sel, 2),
                          (size_t)sqlite3_column_bytes(sel, 2)};
        ag_spanidx_note(&x, sqlite3_column_int64(sel, 1), sqlite3_column_int64(sel, 0), service,
                        sqlite3_column_int64(sel, 3), sqlite3_column_int64(sel, 4),
                        sqlite3_column_int(sel, 5));
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE)
        rc = write_block_services(ins, &x, NULL, NULL) ? SQLITE_ERROR : SQLITE_OK;
    if (rc != SQLITE_OK) snprintf(err, errlen, "indexing stored chunks: %s", sqlite3_errmsg(db));
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    ag_spanidx_free(&x);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Creates the tables of a new database, or brings an older one to this
 * schema, in one transaction so that a crash leaves one or the other. */
static int create_or_upgrade(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    /* a database already at this schema is not written to at start: a
     * restart on a full disk must come up to show what is stored */
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    if (sqlite3_finalize(st) != SQLITE_OK)
        return snprintf(err, errlen, "%s", sqlite3_errmsg(db)), -1;
    if (version == AG_SCHEMA_VERSION) return 0;
    if (exec(db, "BEGIN IMMEDIATE", err, errlen)) return -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    /* before 3, blobs were inline: traces gains the columns naming a block */
    int rc = version >= 1 && version < 3
                 ? exec(db,
                        "ALTER TABLE traces ADD COLUMN block INTEGER;"
                        "ALTER TABLE traces ADD COLUMN block_offset INTEGER;"
                        "ALTER TABLE traces ADD COLUMN block_len INTEGER;",
                        err, errlen)
                 : 0;
    if (!rc) rc = exec(db, SCHEMA, err, errlen);
    /* before 4, histograms had 12.5% buckets in another encoding (hist.h) */
    if (!rc && version >= 1 && version < 4)
        rc = exec(db,
                  "UPDATE service_minutes SET hist = ag_hist_upgrade(hist);"
                  "UPDATE resource_minutes SET hist = ag_hist_upgrade(hist);",
                  err, errlen);
    /* before 5, only chunk roots were indexed (by service): the stored
     * chunks are found by their root's service (docs/query-api.md) */
    if (!rc && version >= 1 && version < 5) rc = index_stored_roots(db, err, errlen);
    if (!rc) rc = exec(db, "COMMIT", err, errlen);
    if (rc) exec(db, "ROLLBACK", NULL, 0);
    return rc;
}

static int open_writer(ag_store *s, char *err, size_t errlen, int *code)
{
    *code = SQLITE_OK;
    s->db = connect_db(s->path, false, err, errlen, code);
    if (!s->db) return -1;
    /* page size and incremental vacuum only take effect on a new file */
    if (exec(s->db, "PRAGMA page_size=8192; PRAGMA auto_vacuum=INCREMENTAL;", err, errlen) ||
        exec(s->db, "PRAGMA journal_mode=WAL;", err, errlen) ||
        /* with sync_full the syncer thread fsyncs the WAL (see the top) */
        exec(s->db, "PRAGMA synchronous=NORMAL;", err, errlen) ||
        /* Every commit ends with a scan of the page cache's whole hash
         * table (SQLite truncates the cache to the database size), so a
         * writer with the readers' 64 MiB cache spent a third of its commit
         * time there; its working set (the last pages of the table and of
         * each index) is a few MiB. */
        exec(s->db, "PRAGMA cache_size=-16384;", err, errlen) ||
        /* The WAL keeps the size it grew to (a RESTART checkpoint starts it
         * over at WAL_RESTART_FRAMES): writing over blocks the file already
         * has makes each fdatasync cheaper than extending it again. */
        exec(s->db, "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=268435456;", err,
             errlen) ||
        create_or_upgrade(s->db, err, errlen) ||
        /* the service map's tables came without a user_version of their
         * own: IF NOT EXISTS writes nothing once they are there */
        exec(s->db, AG_SVCMAP_SCHEMA, err, errlen))
        return -1;
    return prepare(s,
                   "INSERT INTO traces(trace_id, trace_id_high, start, duration, service,"
                   " resource, name, error, span_count, spans, block, block_offset, block_len)"
                   " VALUES(?,?,?,?,?,?,?,?,?,x'',?,?,?)",
                   &s->ins_trace, err, errlen) ||
                   prepare(s, "INSERT INTO blocks(data) VALUES(?)", &s->ins_block, err, errlen) ||
                   prepare(
                       s,
                       "INSERT INTO service_minutes(minute, service, hits, errors, duration_sum, hist)"
                       " VALUES(?,?,?,?,?,?) ON CONFLICT(minute, service) DO UPDATE SET"
                       " hits=hits+excluded.hits, errors=errors+excluded.errors,"
                       " duration_sum=duration_sum+excluded.duration_sum,"
                       " hist=ag_hist_merge(hist, excluded.hist)",
                       &s->up_service, err, errlen) ||
                   prepare(
                       s,
                       "INSERT INTO resource_minutes(service, minute, resource, name, hits, errors,"
                       " duration_sum, hist) VALUES(?,?,?,?,?,?,?,?)"
                       " ON CONFLICT(service, minute, resource) DO UPDATE SET"
                       " hits=hits+excluded.hits, errors=errors+excluded.errors,"
                       " duration_sum=duration_sum+excluded.duration_sum, name=excluded.name,"
                       " hist=ag_hist_merge(hist, excluded.hist)",
                       &s->up_resource, err, errlen) ||
                   prepare(
                       s, "INSERT OR IGNORE INTO operations(service, name, resource) VALUES(?,?,?)",
                       &s->ins_op, err, errlen) ||
                   prepare(s, AG_INSERT_BLOCK_SERVICE_SQL, &s->ins_svc, err, errlen)
               ? -1
               : 0;
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Inserts x's entries; block_ids and row_ids map its keys (the batch's
 * block and row indexes) to ids, NULL when the keys are the ids. */
static int write_block_services(sqlite3_stmt *st, const ag_spanidx *x, const int64_t *block_ids,
                                const int64_t *row_ids)
{
    for (size_t i = 0; i < x->svc_len; i++) {
        const ag_svc_entry *e = &x->svc[i];
        size_t len = e->bits_len;
        while (len && !e->bits[len - 1]) len--; /* bits_len is a capacity */
        sqlite3_bind_text(st, 1, ag_spanidx_str(x, e->service), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, block_ids ? block_ids[e->block] : e->block);
        sqlite3_bind_int64(st, 3, row_ids ? row_ids[e->first_row] : e->first_row);
        sqlite3_bind_blob(st, 4, e->bits, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, e->min_start);
        sqlite3_bind_int64(st, 6, e->max_start);
        sqlite3_bind_int64(st, 7, e->max_duration);
        sqlite3_bind_int(st, 8, e->error);
        if (step_reset(st)) return -1;
    }
    return 0;
}

/* Every (service, name, resource) of the batch's spans (spanidx.h). */
static int write_operations(ag_store *s, const ag_spanidx *x)
{
    for (size_t i = 0; i < x->ops_cap; i++) {
        const ag_op_entry *e = &x->ops[i];
        uint64_t *seen = &s->ops_seen[e->hash % OPS_SEEN_SLOTS];
        if (e->service == SIZE_MAX || *seen == (e->hash | 1)) continue;
        *seen = e->hash | 1; /* | 1: an empty slot (0) matches no triple */
        sqlite3_bind_text(s->ins_op, 1, ag_spanidx_str(x, e->service), -1, SQLITE_STATIC);
        sqlite3_bind_text(s->ins_op, 2, ag_spanidx_str(x, e->name), -1, SQLITE_STATIC);
        sqlite3_bind_text(s->ins_op, 3, ag_spanidx_str(x, e->resource), -1, SQLITE_STATIC);
        if (step_reset(s->ins_op)) return -1;
    }
    return 0;
}

/* Inserts a batch's blocks, each followed by its rows and their service
 * entries, then its operations. */
static int write_rows(ag_store *s, const ag_batch *b)
{
    sqlite3_int64 block = 0;
    /* the ids the rows and blocks get, for their block_services entries */
    int64_t *ids = ag_xmalloc((b->rows_len + b->blocks_len + 1) * sizeof *ids);
    int64_t *block_ids = ids + b->rows_len;
    int rc = 0;
    for (size_t i = 0, next_block = 0; i < b->rows_len && !rc; i++) {
        const ag_row *r = &b->rows[i];
        const char *d = b->data.data;
        while (next_block <= r->block) { /* rows are in block order */
            const ag_buf *data = &b->blocks[next_block++];
            sqlite3_bind_blob(s->ins_block, 1, data->data, (int)data->len, SQLITE_STATIC);
            if (step_reset(s->ins_block)) {
                free(ids);
                return -1;
            }
            block = block_ids[next_block - 1] = sqlite3_last_insert_rowid(s->db);
        }
        sqlite3_stmt *st = s->ins_trace;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)r->trace_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->trace_id_high);
        sqlite3_bind_int64(st, 3, r->start);
        sqlite3_bind_int64(st, 4, r->duration);
        sqlite3_bind_text(st, 5, d + r->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, d + r->resource, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, d + r->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, r->error);
        sqlite3_bind_int(st, 9, (int)r->span_count);
        sqlite3_bind_int64(st, 10, block);
        sqlite3_bind_int64(st, 11, (sqlite3_int64)r->blob);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)r->blob_len);
        rc = step_reset(st);
        ids[i] = sqlite3_last_insert_rowid(s->db);
    }
    if (!rc) rc = write_block_services(s->ins_svc, &b->idx, block_ids, ids);
    free(ids);
    return rc ? -1 : write_operations(s, &b->idx);
}

static int write_aggregates(ag_store *s, const ag_aggmap *m)
{
    unsigned char hist[AG_HIST_ENCODED_MAX];
    for (size_t i = 0; i < m->cap; i++) {
        const ag_agg_entry *e = &m->slots[i];
        if (!e->service) continue;
        size_t hlen = ag_hist_acc_encode(&e->hist, hist);
        sqlite3_stmt *st;
        if (!e->resource) {
            st = s->up_service;
            sqlite3_bind_int64(st, 1, e->minute);
            sqlite3_bind_text(st, 2, e->service, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)e->hits);
            sqlite3_bind_int64(st, 4, (sqlite3_int64)e->errors);
            sqlite3_bind_int64(st, 5, e->duration_sum);
            sqlite3_bind_blob(st, 6, hist, (int)hlen, SQLITE_STATIC);
            if (step_reset(st)) return -1;
            continue;
        }
        st = s->up_resource;
        sqlite3_bind_text(st, 1, e->service, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->minute);
        sqlite3_bind_text(st, 3, e->resource, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e->hits);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)e->errors);
        sqlite3_bind_int64(st, 7, e->duration_sum);
        sqlite3_bind_blob(st, 8, hist, (int)hlen, SQLITE_STATIC);
        if (step_reset(st)) return -1;
    }
    return 0;
}

/* Writes a group of batches in one transaction. 0 when committed. */
static bool is_damage(int code)
{
    return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

/* Records the first damage seen and says once how to recover (mu held). */
static void note_damage(ag_store *s, const char *what)
{
    if (s->damage[0]) return;
    snprintf(s->damage, sizeof s->damage, "%s", what);
    fprintf(stderr, "ctrace-agent: the database %s is damaged (%s)\n%s", s->path, what,
            AG_STORE_RECOVERY_HINT);
}

/* The disk is full: the WAL, which keeps the size it grew to, is most of
 * what can be given back. Every committed frame is normally already
 * copied into the database by the passive checkpoints, so a TRUNCATE
 * checkpoint (the checkpointer's, waiting for readers) empties it. */
static void reclaim_wal(ag_store *s)
{
    pthread_mutex_lock(&s->ck_mu);
    s->ck_truncate = true;
    pthread_cond_signal(&s->ck_cond);
    pthread_mutex_unlock(&s->ck_mu);
}

static int commit_group(ag_store *s, ag_batch *group)
{
    ag_aggmap merged;
    ag_aggmap_init(&merged);
    ag_svcmap edges;
    ag_svcmap_init(&edges);
    int rc = exec(s->db, "BEGIN IMMEDIATE", NULL, 0);
    for (ag_batch *b = group; !rc && b; b = b->next) {
        rc = write_rows(s, b);
        ag_aggmap_merge(&merged, &b->agg);
        ag_svcmap_merge(&edges, &b->svcmap);
    }
    if (!rc) rc = write_aggregates(s, &merged);
    if (!rc) rc = ag_svcmap_write(s->db, &edges, ag_now_ns() / 1000000000LL);
    if (!rc) rc = exec(s->db, "COMMIT", NULL, 0);
    if (rc) {
        int code = sqlite3_extended_errcode(s->db);
        fprintf(stderr, "ctrace-agent: commit failed: %s\n", sqlite3_errmsg(s->db));
        if (is_damage(code)) {
            pthread_mutex_lock(&s->mu);
            note_damage(s, sqlite3_errmsg(s->db));
            pthread_mutex_unlock(&s->mu);
        }
        exec(s->db, "ROLLBACK", NULL, 0);
        memset(s->ops_seen, 0, sizeof s->ops_seen);
        if ((code & 0xff) == SQLITE_FULL) {
            rc = AG_STORE_FULL;
            reclaim_wal(s);
        }
    }
    ag_aggmap_free(&merged);
    ag_svcmap_free(&edges);
    return rc;
}

/* Tells b's submitter how its commit went and releases b (mu held): the
 * queue's room goes back first, so a submitter waiting for it can go on. */
static void mark_done(ag_store *s, ag_batch *b, int rc)
{
    s->queued_bytes -= b->queued_bytes;
    pthread_cond_broadcast(&s->space);
    b->on_done(b->on_done_arg, rc);
    ag_batch_free(b);
}

/* Marks every batch of the list done with status rc, counts them and tells
 * their submitters (mu held): the writer's path without fsync and the
 * syncer's both end here. */
static void acknowledge(ag_store *s, ag_batch *batches, int rc)
{
    s->stats.failed_commits += rc != 0;
    for (ag_batch *b = batches, *next; b; b = next) {
        next = b->next;
        s->stats.batches++;
        if (!rc) s->stats.traces += b->rows_len, s->stats.spans += b->spans;
        mark_done(s, b, rc);
    }
}

/* Marks a group done with status rc and tells its submitters (mu held). */
static void finish_group(ag_store *s, ag_batch *group, int rc)
{
    s->stats.commits++;
    acknowledge(s, group, rc);
}

static bool disk_low(const char *path);

/* When the disk runs low, the writer itself truncates the WAL after a
 * commit once it holds more than WAL_LOW_DISK_FRAMES: the checkpointer's
 * attempts compete with the writer for its lock and lost under steady
 * ingest, and the WAL, which keeps the size it grew to, took the last of
 * the disk while the database could not grow. Free space is looked at
 * every 100 ms at most. */
static void truncate_wal_if_disk_low(ag_store *s)
{
    int64_t now = ag_mono_ns();
    if (now - s->disk_checked_ns >= 100000000LL) {
        s->disk_checked_ns = now;
        s->disk_low = disk_low(s->path);
    }
    if (!s->disk_low) return;
    char wal[4096];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (stat(wal, &st) || st.st_size < (off_t)WAL_LOW_DISK_FRAMES * 8192) return;
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

static void *writer_main(void *arg)
{
    ag_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping) pthread_cond_wait(&s->work, &s->mu);
        if (!s->head) break;
        ag_batch *group = s->head;
        s->head = s->tail = NULL;
        pthread_mutex_unlock(&s->mu);

        int rc = commit_group(s, group);
        if (!rc) truncate_wal_if_disk_low(s);

        pthread_mutex_lock(&s->mu);
        /* Set here, in commit order, not where batches are acknowledged:
         * the syncer acknowledges an earlier, successful group after a
         * later one has already failed for want of space. */
        s->disk_full = rc == AG_STORE_FULL;
        if (rc || !s->sync_wal) {
            finish_group(s, group, rc);
            continue;
        }
        /* committed, not yet durable: the syncer acknowledges it. The
         * groups stay separate (next links) only for the stats; the syncer
         * takes them all at once. */
        ag_batch *last = group;
        while (last->next) last = last->next;
        if (s->unsynced_tail) s->unsynced_tail->next = group;
        else s->unsynced_head = group;
        s->unsynced_tail = last;
        s->stats.commits++;
        pthread_cond_signal(&s->synced);
    }
    s->writer_stopped = true;
    pthread_cond_signal(&s->synced);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* fdatasync of the WAL file. The descriptor is reopened when the file at
 * the path is no longer the one it refers to (SQLite deletes the WAL only
 * when the last connection closes, but this does not rely on it). */
static int sync_wal_file(ag_store *s)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s-wal", s->path);
    if (stat(path, &st) != 0) {
        fprintf(stderr, "ctrace-agent: cannot stat %s\n", path);
        return -1;
    }
    if (s->wal_fd < 0 || st.st_dev != s->wal_dev || st.st_ino != s->wal_ino) {
        if (s->wal_fd >= 0) close(s->wal_fd);
        s->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->wal_fd < 0) {
            fprintf(stderr, "ctrace-agent: cannot open %s\n", path);
            return -1;
        }
        s->wal_dev = st.st_dev;
        s->wal_ino = st.st_ino;
    }
    if (fdatasync(s->wal_fd) != 0) {
        fprintf(stderr, "ctrace-agent: fdatasync of the WAL failed\n");
        return -1;
    }
    return 0;
}

/* Acknowledges committed groups once an fsync of the WAL covers them; one
 * fsync covers every group committed before it started. */
static void *syncer_main(void *arg)
{
    ag_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->unsynced_head && !s->writer_stopped) pthread_cond_wait(&s->synced, &s->mu);
        if (!s->unsynced_head) break;
        ag_batch *groups = s->unsynced_head;
        s->unsynced_head = s->unsynced_tail = NULL;
        pthread_mutex_unlock(&s->mu);

        int rc = sync_wal_file(s);

        pthread_mutex_lock(&s->mu);
        /* committed but not known durable: refuse rather than acknowledge */
        acknowledge(s, groups, rc);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->wal_fd >= 0) close(s->wal_fd);
    return NULL;
}

void ag_store_submit(ag_store *s, ag_batch *b, ag_store_done_fn *done, void *arg)
{
    b->next = NULL;
    b->queued_bytes = ag_batch_bytes(b);
    b->on_done = done;
    b->on_done_arg = arg;
    pthread_mutex_lock(&s->mu);
    /* a batch larger than the whole cap still goes in when the queue is empty */
    while (s->queued_bytes && s->queued_bytes + b->queued_bytes > s->max_queue_bytes &&
           !s->stopping)
        pthread_cond_wait(&s->space, &s->mu);
    if (s->stopping || s->read_only) {
        done(arg, s->read_only ? AG_STORE_FULL : -1);
        pthread_mutex_unlock(&s->mu);
        ag_batch_free(b);
        return;
    }
    s->queued_bytes += b->queued_bytes;
    if (s->tail) s->tail->next = b;
    else s->head = b;
    s->tail = b;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

/* Whether the file system holding path has less than `bytes` free. */
static bool disk_below(const char *path, uint64_t bytes)
{
    struct statvfs fs;
    if (statvfs(path, &fs)) return false;
    return (uint64_t)fs.f_bavail * fs.f_frsize < bytes;
}

static bool disk_low(const char *path) { return disk_below(path, LOW_DISK_BYTES); }

/* Checkpoints the WAL in the background; PASSIVE never blocks the writer. */
static void *checkpointer_main(void *arg)
{
    ag_store *s = arg;
    char err[256];
    sqlite3 *db = ag_store_connect(s->path, false, err, sizeof err);
    if (!db) {
        fprintf(stderr, "ctrace-agent: checkpointer: %s\n", err);
        return NULL;
    }
    pthread_mutex_lock(&s->ck_mu);
    while (!s->ck_stop) {
        struct timespec until = ag_realtime_in(0.2);
        if (!s->ck_truncate) pthread_cond_timedwait(&s->ck_cond, &s->ck_mu, &until);
        if (s->ck_stop) break;
        bool truncate = s->ck_truncate;
        s->ck_truncate = false;
        pthread_mutex_unlock(&s->ck_mu);
        if (truncate) {
            int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
            fprintf(
                stderr, "ctrace-agent: disk full: %s\n",
                rc == SQLITE_OK
                    ? "the WAL was checkpointed and truncated; payloads are refused until space is freed"
                    : "the WAL could not be truncated; payloads are refused until space is freed");
            pthread_mutex_lock(&s->ck_mu);
            continue;
        }
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        /* Under constant writes a passive checkpoint never catches up with
         * the end of the WAL, so the WAL would grow without bound. Past
         * WAL_RESTART_FRAMES, a RESTART checkpoint makes the writer wait
         * (a few hundred ms at most) and the WAL start over. When the disk
         * runs low, the writer truncates it (truncate_wal_if_disk_low). */
        if (log > WAL_RESTART_FRAMES)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        pthread_mutex_lock(&s->ck_mu);
    }
    pthread_mutex_unlock(&s->ck_mu);
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static void finalize_writer_statements(ag_store *s)
{
    sqlite3_finalize(s->ins_trace);
    sqlite3_finalize(s->ins_block);
    sqlite3_finalize(s->up_service);
    sqlite3_finalize(s->up_resource);
    sqlite3_finalize(s->ins_op);
    sqlite3_finalize(s->ins_svc);
    s->ins_trace = s->ins_block = s->up_service = s->up_resource = s->ins_op = s->ins_svc = NULL;
}

/* The disk is too full for the writer even to open (SQLite needs room
 * for the WAL and its index): serve what is stored, read-only, rather
 * than not start. Readers open the file immutable, which needs neither;
 * payloads are refused (AG_STORE_FULL) until a restart with room. */
static int open_read_only(ag_store *s, char *err, size_t errlen)
{
    finalize_writer_statements(s);
    sqlite3_close(s->db);
    s->db = NULL;
    s->read_only = true;
    s->disk_full = true;
    sqlite3 *probe = ag_store_reader(s);
    if (!probe) {
        snprintf(err, errlen, "the disk is full and %s cannot be read either", s->path);
        return -1;
    }
    ag_store_release(s, probe);
    return 0;
}

/* The store cannot keep its promises without its threads: abort, as on
 * running out of memory (buf.h), rather than run half of it. */
static void start_thread(pthread_t *t, void *(*main)(void *), void *arg, const char *name)
{
    if (pthread_create(t, NULL, main, arg)) {
        fprintf(stderr, "ctrace-agent: cannot start the store's %s thread\n", name);
        abort();
    }
}

/* PRAGMA quick_check: every page of every b-tree is read and checked
 * (not the indexes against the tables, which integrity_check adds at
 * O(N log N)): one read of the whole file. A damaged database is refused
 * at start, with the way out, rather than served with holes. */
static int check_integrity(ag_store *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(3)", -1, &st, NULL);
    ag_buf problems = {0};
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line && strcmp(line, "ok"))
            ag_buf_printf(&problems, "%s%s", problems.len ? "; " : "", line);
    }
    if (rc != SQLITE_OK || (sqlite3_finalize(st) != SQLITE_OK && !problems.len))
        ag_buf_printf(&problems, "%s", sqlite3_errmsg(s->db));
    if (!problems.len) return 0;
    snprintf(err, errlen, "the database %s is damaged (%s)\n%s", s->path, ag_buf_cstr(&problems),
             AG_STORE_RECOVERY_HINT);
    ag_buf_free(&problems);
    return AG_STORE_DAMAGED;
}

int ag_store_open(const ag_store_opts *o, ag_store **out, char *err, size_t errlen)
{
    ag_store *s = ag_xcalloc(1, sizeof *s);
    s->path = ag_xstrdup(o->path);
    s->max_queue_bytes = o->max_queue_bytes ? o->max_queue_bytes : 256u << 20;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->space, NULL);
    pthread_cond_init(&s->synced, NULL);
    pthread_cond_init(&s->ck_cond, NULL);
    s->sync_wal = o->sync_full;
    s->wal_fd = -1;
    int code;
    int rc = open_writer(s, err, errlen, &code);
    if (rc && s->db) code = sqlite3_extended_errcode(s->db);
    /* a damaged header fails the first statement with "file is not a
     * database": say what it means and what to do, not which pragma failed */
    if (rc && is_damage(code)) {
        snprintf(err, errlen, "the database %s is damaged (%s)\n%s", s->path, sqlite3_errstr(code),
                 AG_STORE_RECOVERY_HINT);
        rc = AG_STORE_DAMAGED;
    }
    if (rc && (code & 0xff) == SQLITE_FULL && open_read_only(s, err, errlen) == 0) {
        *out = s;
        return 0;
    }
    if (!rc && o->check_integrity) rc = check_integrity(s, err, errlen);
    if (rc) {
        finalize_writer_statements(s);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return rc;
    }
    /* Opening wrote nothing if the database and its -shm were there, so a
     * disk full to the byte can still let the writer open: say it is full
     * from the start (the first commit that fits clears it) rather than
     * only after a payload has been refused. */
    s->disk_full = disk_below(s->path, FULL_DISK_BYTES);
    start_thread(&s->writer, writer_main, s, "writer");
    start_thread(&s->syncer, syncer_main, s, "syncer");
    start_thread(&s->checkpointer, checkpointer_main, s, "checkpointer");
    *out = s;
    return 0;
}

void ag_store_close(ag_store *s)
{
    if (!s) return;
    if (s->read_only) {
        for (int i = 0; i < s->pool_len; i++) sqlite3_close(s->pool[i]);
        free(s->path);
        free(s);
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    pthread_join(s->syncer, NULL); /* acknowledges the last groups */
    pthread_mutex_lock(&s->ck_mu);
    s->ck_stop = true;
    pthread_cond_signal(&s->ck_cond);
    pthread_mutex_unlock(&s->ck_mu);
    pthread_join(s->checkpointer, NULL);
    finalize_writer_statements(s);
    for (int i = 0; i < s->pool_len; i++) sqlite3_close(s->pool[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* A reader on a full disk. Pages are read, not mapped: on tmpfs, a hole
 * that a failed checkpoint left in the file raises SIGBUS when mapped and
 * there is no page to give it. The WAL is read through its existing index
 * when it can be (everything acknowledged is visible); failing that, the
 * database file alone, immutable (SQLite then needs no WAL index at all,
 * and shows the state of the last completed checkpoint). */
static sqlite3 *connect_on_full_disk(ag_store *s, char *err, size_t errlen)
{
    sqlite3 *db = ag_store_connect(s->path, true, err, errlen);
    if (db && (exec(db, "PRAGMA mmap_size=0", err, errlen) ||
               exec(db, "SELECT count(*) FROM sqlite_master", err, errlen))) {
        sqlite3_close(db);
        db = NULL;
    }
    if (db) return db;
    ag_buf uri = {0};
    ag_buf_printf(&uri, "file:%s?immutable=1", s->path);
    db = ag_store_connect(ag_buf_cstr(&uri), true, err, errlen);
    ag_buf_free(&uri);
    if (db && exec(db, "PRAGMA mmap_size=0", err, errlen)) {
        sqlite3_close(db);
        db = NULL;
    }
    return db;
}

sqlite3 *ag_store_reader(ag_store *s)
{
    pthread_mutex_lock(&s->pool_mu);
    sqlite3 *db = s->pool_len ? s->pool[--s->pool_len] : NULL;
    pthread_mutex_unlock(&s->pool_mu);
    if (db) return db;
    char err[256];
    db = s->read_only ? connect_on_full_disk(s, err, sizeof err)
                      : ag_store_connect(s->path, true, err, sizeof err);
    if (!db) fprintf(stderr, "ctrace-agent: reader: %s\n", err);
    return db;
}

void ag_store_release(ag_store *s, sqlite3 *db)
{
    if (!db) return;
    pthread_mutex_lock(&s->pool_mu);
    if (s->pool_len < READER_POOL) {
        s->pool[s->pool_len++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    sqlite3_close(db);
}

const char *ag_store_path(const ag_store *s) { return s->path; }

void ag_store_note_read_error(ag_store *s, int code, const char *what)
{
    if (!is_damage(code)) return;
    pthread_mutex_lock(&s->mu);
    note_damage(s, what);
    pthread_mutex_unlock(&s->mu);
}

bool ag_store_disk_full(ag_store *s)
{
    pthread_mutex_lock(&s->mu);
    bool full = s->disk_full;
    pthread_mutex_unlock(&s->mu);
    return full;
}

bool ag_store_read_only(const ag_store *s) { return s->read_only; }

bool ag_store_damage(ag_store *s, char *out, size_t outlen)
{
    pthread_mutex_lock(&s->mu);
    bool damaged = s->damage[0] != '\0';
    if (damaged) snprintf(out, outlen, "%s", s->damage);
    pthread_mutex_unlock(&s->mu);
    return damaged;
}

void ag_store_get_stats(ag_store *s, ag_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

char *ag_default_data_dir(void)
{
    ag_buf b = {0};
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) ag_buf_printf(&b, "%s/ctrace", xdg);
    else ag_buf_printf(&b, "%s/.local/share/ctrace", home && *home ? home : ".");
    return ag_buf_cstr(&b);
}
