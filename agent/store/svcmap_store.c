/* The service map's tables (see svcmap_store.h): writing a commit's edges and
 * pending children, resolving pending children against the stored chunks
 * of their trace, and retention. */
#include "blob.h"
#include "store.h"
#include "storedblob.h"
#include "svcmap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char AG_SVCMAP_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS svcmap_minutes("
    " minute INTEGER NOT NULL, env TEXT NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL,"
    " calls INTEGER NOT NULL, errors INTEGER NOT NULL, duration_sum INTEGER NOT NULL,"
    " hist BLOB NOT NULL, PRIMARY KEY(minute, env, caller, callee)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS svcmap_pending("
    " id INTEGER PRIMARY KEY, trace_id INTEGER NOT NULL, parent_id INTEGER NOT NULL,"
    " service TEXT NOT NULL, env TEXT NOT NULL, minute INTEGER NOT NULL,"
    " duration INTEGER NOT NULL, error INTEGER NOT NULL, added INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS svcmap_unresolved("
    " minute INTEGER NOT NULL, env TEXT NOT NULL, service TEXT NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY(minute, env, service)) WITHOUT ROWID;";

static const char UPSERT_EDGE[] =
    "INSERT INTO svcmap_minutes(minute, env, caller, callee, calls, errors, duration_sum, hist)"
    " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(minute, env, caller, callee) DO UPDATE SET"
    " calls=calls+excluded.calls, errors=errors+excluded.errors,"
    " duration_sum=duration_sum+excluded.duration_sum, hist=ag_hist_merge(hist, excluded.hist)";

static const char INSERT_PENDING[] =
    "INSERT INTO svcmap_pending(trace_id, parent_id, service, env, minute, duration, error, added)"
    " VALUES(?,?,?,?,?,?,?,?)";

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_edges(sqlite3 *db, const ag_svcmap *m)
{
    if (!m->len) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, UPSERT_EDGE, -1, &st, NULL) != SQLITE_OK) return -1;
    unsigned char hist[AG_HIST_ENCODED_MAX];
    int rc = 0;
    for (size_t i = 0; i < m->cap && !rc; i++) {
        const ag_svcmap_edge *e = &m->slots[i];
        if (!e->from) continue;
        size_t hlen = ag_hist_acc_encode(&e->hist, hist);
        sqlite3_bind_int64(st, 1, e->minute);
        sqlite3_bind_text(st, 2, e->env, (int)e->env_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->from, (int)e->from_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->to, (int)e->to_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e->calls);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)e->errors);
        sqlite3_bind_int64(st, 7, e->duration_sum);
        sqlite3_bind_blob(st, 8, hist, (int)hlen, SQLITE_STATIC);
        rc = step_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int write_pending(sqlite3 *db, const ag_svcmap *m, int64_t now_s)
{
    if (!m->pending_len) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, INSERT_PENDING, -1, &st, NULL) != SQLITE_OK) return -1;
    int rc = 0;
    for (size_t i = 0; i < m->pending_len && !rc; i++) {
        const ag_svcmap_pending *p = &m->pending[i];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)p->trace_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)p->parent_id);
        sqlite3_bind_text(st, 3, m->strings + p->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, m->strings + p->env, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, p->minute);
        sqlite3_bind_int64(st, 6, p->duration);
        sqlite3_bind_int(st, 7, p->error);
        sqlite3_bind_int64(st, 8, now_s);
        rc = step_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int ag_svcmap_write(sqlite3 *db, const ag_svcmap *m, int64_t now_s)
{
    return write_edges(db, m) || write_pending(db, m, now_s) ? -1 : 0;
}

/* The service of span parent_id in the stored chunks of trace_id, copied
 * into out (the caller frees it); NULL when no stored chunk has it yet. */
static char *parent_service(sqlite3_stmt *by_id, ag_stored_blobs *blobs, uint64_t trace_id,
                            uint64_t parent_id)
{
    char *found = NULL;
    sqlite3_bind_int64(by_id, 1, (sqlite3_int64)trace_id);
    while (!found && sqlite3_step(by_id) == SQLITE_ROW) {
        const void *blob;
        size_t len;
        if (ag_stored_blobs_get(blobs, by_id, 1, &blob, &len)) continue;
        ag_arena a;
        ag_arena_init(&a);
        ag_trace t;
        if (!ag_blob_decode(blob, len, trace_id, &a, &t))
            for (size_t i = 0; i < t.len && !found; i++)
                if (t.spans[i].span_id == parent_id)
                    found = ag_xstrndup(t.spans[i].service.ptr, t.spans[i].service.len);
        ag_arena_free(&a);
    }
    sqlite3_reset(by_id);
    return found;
}

typedef struct {
    sqlite3_stmt *pending, *by_id, *del, *unresolved;
} resolve_stmts;

static int prepare_resolve(sqlite3 *db, resolve_stmts *s)
{
    memset(s, 0, sizeof *s);
    return sqlite3_prepare_v2(db,
                              "SELECT id, trace_id, parent_id, service, env, minute,"
                              " duration, error, added FROM svcmap_pending WHERE id > ? ORDER BY id"
                              " LIMIT ?",
                              -1, &s->pending, NULL) ||
           sqlite3_prepare_v2(db, AG_TRACE_BY_ID_SQL, -1, &s->by_id, NULL) ||
           sqlite3_prepare_v2(db, "DELETE FROM svcmap_pending WHERE id = ?", -1, &s->del, NULL) ||
           sqlite3_prepare_v2(db,
                              "INSERT INTO svcmap_unresolved(minute, env, service, count)"
                              " VALUES(?,?,?,1) ON CONFLICT(minute, env, service)"
                              " DO UPDATE SET count=count+1",
                              -1, &s->unresolved, NULL);
}

static void finalize_resolve(resolve_stmts *s)
{
    sqlite3_finalize(s->pending);
    sqlite3_finalize(s->by_id);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->unresolved);
}

/* Resolves or gives up on the pending row st is on: 1 when it is done
 * with (deleted), 0 when it waits, -1 on a database error. */
static int resolve_one(resolve_stmts *s, ag_stored_blobs *blobs, ag_svcmap *edges, int64_t now_s,
                       double wait_s)
{
    sqlite3_stmt *p = s->pending;
    const char *service = (const char *)sqlite3_column_text(p, 3);
    const char *env = (const char *)sqlite3_column_text(p, 4);
    int64_t minute = sqlite3_column_int64(p, 5);
    char *caller = parent_service(s->by_id, blobs, (uint64_t)sqlite3_column_int64(p, 1),
                                  (uint64_t)sqlite3_column_int64(p, 2));
    if (caller && !strcmp(caller, service)) {
        /* a chunk of the same process flushed apart (partial flush): its
         * parent is found, but a call within a service is no edge */
    } else if (caller) {
        ag_svcmap_add_edge(edges, minute, (ag_str){env, strlen(env)},
                           (ag_str){caller, strlen(caller)}, (ag_str){service, strlen(service)},
                           sqlite3_column_int64(p, 6), sqlite3_column_int(p, 7));
    } else if ((double)(now_s - sqlite3_column_int64(p, 8)) >= wait_s) {
        sqlite3_bind_int64(s->unresolved, 1, minute);
        sqlite3_bind_text(s->unresolved, 2, env, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s->unresolved, 3, service, -1, SQLITE_TRANSIENT);
        if (step_reset(s->unresolved)) return -1;
    } else {
        return 0;
    }
    free(caller);
    sqlite3_bind_int64(s->del, 1, sqlite3_column_int64(p, 0));
    return step_reset(s->del) ? -1 : 1;
}

int64_t ag_svcmap_resolve(sqlite3 *db, int64_t now_s, double wait_s, int limit, int64_t *after_id)
{
    resolve_stmts s;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    if (prepare_resolve(db, &s)) {
        finalize_resolve(&s);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    ag_stored_blobs *blobs = ag_stored_blobs_new(db);
    ag_svcmap edges;
    ag_svcmap_init(&edges);
    int64_t examined = 0;
    int rc = 0;
    sqlite3_bind_int64(s.pending, 1, *after_id);
    sqlite3_bind_int(s.pending, 2, limit);
    while (!rc && sqlite3_step(s.pending) == SQLITE_ROW) {
        *after_id = sqlite3_column_int64(s.pending, 0);
        examined++;
        if (resolve_one(&s, blobs, &edges, now_s, wait_s) < 0) rc = -1;
    }
    finalize_resolve(&s);
    ag_stored_blobs_free(blobs);
    if (!rc) rc = ag_svcmap_write(db, &edges, now_s);
    ag_svcmap_free(&edges);
    if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return examined;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
    fprintf(stderr, "ctrace-agent: service map: %s\n", sqlite3_errmsg(db));
    return -1;
}

void ag_svcmap_expire(sqlite3 *db, int64_t cutoff_s)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM svcmap_minutes WHERE minute < %lld;"
             "DELETE FROM svcmap_unresolved WHERE minute < %lld;"
             "DELETE FROM svcmap_pending WHERE minute < %lld;",
             (long long)cutoff_s, (long long)cutoff_s, (long long)cutoff_s);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
}
