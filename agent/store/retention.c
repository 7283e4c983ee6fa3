/* Retention (see retention.h).
 *
 * By age: chunks whose start is older than the cutoff, found service by
 * service through the (service, start) index (walk.h), 2,000 per
 * transaction with the blocks (block.h) they leave empty; aggregates older
 * than the cutoff go too. By size: the database's live size is
 * (page_count - freelist_count) * page_size; while it exceeds --max-size,
 * the oldest chunks (lowest ids, i.e. first received) are deleted until it
 * is 10% under, so retention does not run again after every commit. Freed
 * pages are then returned to the file system with incremental_vacuum (the
 * file was created with auto_vacuum=INCREMENTAL), a bounded number of
 * pages per transaction. Each transaction is short, so the writer's group
 * commit waits for at most one of them (it has a busy timeout). */
#include "retention.h"
#include "buf.h"
#include "store.h"
#include "svcmap_store.h"
#include "util.h"
#include "walk.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* SVCMAP_RESOLVE_ROWS: pending service-map rows resolved per transaction.
 * Each is a lookup of its trace (~1 ms at a million chunks) made while the
 * transaction holds the write lock, so intake waits for at most one such
 * short transaction. */
enum { CHUNK = 2000, VACUUM_PAGES = 4000, SVCMAP_RESOLVE_ROWS = 64 };

struct ag_retention {
    char *path;
    double max_age, interval, svcmap_wait;
    uint64_t max_size;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    atomic_int stop; /* set under mu, polled without it by the pass */
};

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t live_bytes(sqlite3 *db)
{
    return (pragma_int(db, "PRAGMA page_count") - pragma_int(db, "PRAGMA freelist_count")) *
           pragma_int(db, "PRAGMA page_size");
}

typedef struct {
    int64_t id, block; /* block 0: the blob was inline (no block) */
} deleted_row;

static int by_block(const void *a, const void *b)
{
    int64_t x = ((const deleted_row *)a)->block, y = ((const deleted_row *)b)->block;
    return (x > y) - (x < y);
}

/* The block of the row just before (after) id, or 0 if none. */
static int64_t neighbour_block(sqlite3_stmt *st, int64_t id)
{
    sqlite3_bind_int64(st, 1, id);
    int64_t block = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return block;
}

/* Deletes the blocks the deleted rows leave with no row, and their
 * span-search entries (store.c: block_services). A block's rows are
 * consecutive in id order (the writer inserts them one after another, and
 * new rows and blocks always get ids above every existing one), so a block
 * keeps a row only if the nearest surviving row on one side of one of its
 * deleted rows is its. Returns an SQLite result code. */
static int delete_emptied_blocks(sqlite3 *db, deleted_row *rows, int64_t n)
{
    sqlite3_stmt *before = NULL, *after = NULL, *del = NULL, *del_svc = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT block FROM traces WHERE id < ? ORDER BY id DESC LIMIT 1", -1, &before, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT block FROM traces WHERE id > ? ORDER BY id LIMIT 1", -1,
                                &after, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE id = ?1", -1, &del, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "DELETE FROM block_services WHERE block = ?1", -1, &del_svc,
                                NULL);
    qsort(rows, (size_t)n, sizeof *rows, by_block);
    for (int64_t i = 0; i < n && rc == SQLITE_OK; i++) {
        int64_t block = rows[i].block;
        if (!block || (i && rows[i - 1].block == block)) continue;
        if (neighbour_block(before, rows[i].id) == block ||
            neighbour_block(after, rows[i].id) == block)
            continue;
        sqlite3_bind_int64(del, 1, block);
        sqlite3_bind_int64(del_svc, 1, block);
        if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(del_svc) != SQLITE_DONE)
            rc = SQLITE_ERROR;
        sqlite3_reset(del);
        sqlite3_reset(del_svc);
    }
    sqlite3_finalize(before);
    sqlite3_finalize(after);
    sqlite3_finalize(del);
    sqlite3_finalize(del_svc);
    return rc;
}

/* Deletes up to limit (at most CHUNK) chunks selected by select_sql (id and
 * block of each; bound: arg, the limit, then service if not NULL), and the
 * blocks they leave empty. Returns how many chunks, or -1. */
static int64_t delete_some(sqlite3 *db, const char *select_sql, int64_t arg, int64_t limit,
                           const char *service)
{
    if (limit > CHUNK) limit = CHUNK;
    sqlite3_stmt *sel = NULL, *d1 = NULL;
    int64_t n = 0;
    deleted_row rows[CHUNK];
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, select_sql, -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "DELETE FROM traces WHERE id = ?", -1, &d1, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(sel, 1, arg);
        sqlite3_bind_int64(sel, 2, limit);
        if (service) sqlite3_bind_text(sel, 3, service, -1, SQLITE_STATIC);
        while (n < CHUNK && sqlite3_step(sel) == SQLITE_ROW)
            rows[n++] = (deleted_row){sqlite3_column_int64(sel, 0), sqlite3_column_int64(sel, 1)};
        for (int64_t i = 0; i < n && rc == SQLITE_OK; i++) {
            sqlite3_bind_int64(d1, 1, rows[i].id);
            if (sqlite3_step(d1) != SQLITE_DONE) rc = SQLITE_ERROR;
            sqlite3_reset(d1);
        }
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(d1);
    if (rc == SQLITE_OK) rc = delete_emptied_blocks(db, rows, n);
    if (rc == SQLITE_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return n;
    fprintf(stderr, "ctrace-agent: retention: %s\n", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* About how many of the oldest rows hold excess bytes (rows are similar in
 * size on average), so size retention deletes what it must and no more. */
static int64_t rows_for(sqlite3 *db, int64_t excess, int64_t live)
{
    int64_t rows = pragma_int(db, "SELECT coalesce(max(id) - min(id) + 1, 0) FROM traces");
    if (rows <= 0 || live <= 0) return 1;
    return (int64_t)((double)rows * (double)excess / (double)live) + 1;
}

static void progress(int64_t deleted, int64_t *last_report)
{
    int64_t now = ag_mono_ns();
    if (now - *last_report < 2000000000LL) return;
    *last_report = now;
    printf("ctrace-agent: retention: %lld chunks deleted so far...\n", (long long)deleted);
    fflush(stdout);
}

/* Relaxed: the flag only asks the loop to end; the join orders the rest. */
static bool stopping(atomic_int *stop)
{
    return atomic_load_explicit(stop, memory_order_relaxed) != 0;
}

static void vacuum(sqlite3 *db, atomic_int *stop)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES);
    while (!stopping(stop) && pragma_int(db, "PRAGMA freelist_count") > 0) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return;
        while (sqlite3_step(st) == SQLITE_ROW) {
        }
        if (sqlite3_finalize(st) != SQLITE_OK) return;
    }
}

int64_t ag_retention_pass(sqlite3 *db, double max_age, uint64_t max_size, atomic_int *stop)
{
    int64_t deleted = 0, n = 0, last_report = ag_mono_ns();
    if (max_age > 0) {
        int64_t cutoff = ag_now_ns() - (int64_t)(max_age * 1e9);
        char **services = ag_walk_services(db); /* no index on start alone: walk.h */
        if (!services) return -1;
        for (char **service = services; *service && n >= 0; service++)
            while (!stopping(stop) &&
                   (n = delete_some(db,
                                    "SELECT id, block FROM traces"
                                    " WHERE service = ?3 AND start < ?1 LIMIT ?2",
                                    cutoff, CHUNK, *service)) > 0) {
                deleted += n;
                progress(deleted, &last_report);
            }
        ag_walk_services_free(services);
        if (n < 0) return -1;
        char sql[160];
        snprintf(sql, sizeof sql,
                 "DELETE FROM service_minutes WHERE minute < %lld;"
                 "DELETE FROM resource_minutes WHERE minute < %lld;",
                 (long long)(cutoff / 1000000000LL), (long long)(cutoff / 1000000000LL));
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        ag_svcmap_expire(db, cutoff / 1000000000LL);
    }
    if (max_size > 0 && live_bytes(db) > (int64_t)max_size) {
        int64_t target = (int64_t)((double)max_size * 0.9), live;
        while (!stopping(stop) && (live = live_bytes(db)) > target &&
               (n = delete_some(db, "SELECT id, block FROM traces WHERE id > ? ORDER BY id LIMIT ?",
                                0, rows_for(db, live - target, live), NULL)) > 0) {
            deleted += n;
            progress(deleted, &last_report);
        }
    }
    if (deleted) vacuum(db, stop);
    return deleted;
}

static void *retention_main(void *arg)
{
    ag_retention *r = arg;
    char err[256];
    sqlite3 *db = ag_store_connect(r->path, false, err, sizeof err);
    if (!db) {
        fprintf(stderr, "ctrace-agent: retention: %s\n", err);
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    while (!stopping(&r->stop)) {
        pthread_mutex_unlock(&r->mu);
        int64_t t0 = ag_mono_ns();
        /* resolving first: a pass that deletes chunks may take long, and the
         * map's delay is the interval, not the interval plus a deletion */
        int64_t after_id = 0;
        while (!stopping(&r->stop) &&
               ag_svcmap_resolve(db, ag_now_ns() / 1000000000LL, r->svcmap_wait,
                                 SVCMAP_RESOLVE_ROWS, &after_id) == SVCMAP_RESOLVE_ROWS) {
        }
        int64_t n = r->max_age > 0 || r->max_size > 0
                        ? ag_retention_pass(db, r->max_age, r->max_size, &r->stop)
                        : 0;
        if (n > 0) {
            printf("ctrace-agent: retention: deleted %lld chunks in %.1f s; database %.1f MiB\n",
                   (long long)n, (double)(ag_mono_ns() - t0) / 1e9,
                   (double)live_bytes(db) / 1048576.0);
            fflush(stdout);
        }
        pthread_mutex_lock(&r->mu);
        if (stopping(&r->stop)) break;
        struct timespec until = ag_realtime_in(r->interval > 0.05 ? r->interval : 0.05);
        pthread_cond_timedwait(&r->cond, &r->mu, &until);
    }
    pthread_mutex_unlock(&r->mu);
    sqlite3_close(db);
    return NULL;
}

ag_retention *ag_retention_start(const char *path, double max_age, uint64_t max_size,
                                 double interval, double svcmap_wait)
{
    ag_retention *r = ag_xcalloc(1, sizeof *r);
    r->path = (char *)path;
    r->max_age = max_age;
    r->max_size = max_size;
    r->interval = interval;
    r->svcmap_wait = svcmap_wait;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, retention_main, r)) {
        fprintf(stderr, "ctrace-agent: cannot start the retention thread\n");
        abort(); /* the agent's policy (buf.h): no database growing unbounded instead */
    }
    return r;
}

void ag_retention_stop(ag_retention *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, 1);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    free(r);
}
