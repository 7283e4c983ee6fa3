/* Newest-first walks (see walk.h): a binary max-heap of services keyed by
 * the (start, id) of their next row. A service enters at the newest start
 * it has in the range, found by one probe of the index; only when it
 * reaches the top is its statement prepared (preparing costs ~35 us, so a
 * search for the 50 newest among 200 services prepares a few dozen, not
 * 200) and stepped, each step made only once the previous row was handed
 * out. A walk of one service is the same with a heap of one. */
#include "walk.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A service's place in the merge: its cursor's current row, or, until
 * the merge first needs the service, an upper bound of its newest row
 * (cursor NULL, id INT64_MAX so that it comes out before a row of the same
 * start and gets opened in time). */
typedef struct {
    int64_t start, id;
    const char *service;
    sqlite3_stmt *cursor;
} entry;

struct ag_walk {
    sqlite3 *db;
    char *columns;
    ag_walk_range range;
    char **services; /* owned */
    entry *heap;     /* max-heap by (start, id) */
    size_t heap_len;
    sqlite3_stmt **done; /* finished cursors, finalized at close */
    size_t done_len;
    bool handed_out; /* heap[0]'s row was returned: step it first */
    char *err;
    size_t errlen;
};

static bool before(const entry *a, const entry *b)
{
    return a->start != b->start ? a->start > b->start : a->id > b->id;
}

static void sift_down(ag_walk *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < w->heap_len && before(&w->heap[l], &w->heap[top])) top = l;
        if (r < w->heap_len && before(&w->heap[r], &w->heap[top])) top = r;
        if (top == i) return;
        entry t = w->heap[i];
        w->heap[i] = w->heap[top];
        w->heap[top] = t;
        i = top;
    }
}

static sqlite3_stmt *prepare_cursor(ag_walk *w, const char *service)
{
    const ag_walk_range *r = &w->range;
    ag_buf sql = {0};
    ag_buf_printf(&sql,
                  "SELECT id, start, %s FROM traces WHERE service = ?1"
                  " AND start >= ?2 AND start < ?3",
                  w->columns);
    if (r->after) ag_buf_puts(&sql, " AND (start < ?4 OR (start = ?4 AND id < ?5))");
    ag_buf_puts(&sql, " ORDER BY start DESC, id DESC");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w->db, ag_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        snprintf(w->err, w->errlen, "%s", sqlite3_errmsg(w->db));
        sqlite3_finalize(st);
        st = NULL;
    } else {
        sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->start_ns);
        sqlite3_bind_int64(st, 3, r->end_ns);
        sqlite3_bind_int64(st, 4, r->after_start);
        sqlite3_bind_int64(st, 5, r->after_id);
    }
    ag_buf_free(&sql);
    return st;
}

/* Steps heap[0]'s cursor (opening it first if need be) and puts the entry
 * back in its place, or drops it when the service has no row left. -1 when
 * a statement cannot be prepared. */
static int advance_top(ag_walk *w)
{
    entry *e = &w->heap[0];
    if (!e->cursor && !(e->cursor = prepare_cursor(w, e->service))) return -1;
    int rc = sqlite3_step(e->cursor);
    if (rc == SQLITE_ROW) {
        e->id = sqlite3_column_int64(e->cursor, 0);
        e->start = sqlite3_column_int64(e->cursor, 1);
    } else if (rc != SQLITE_DONE) { /* a read error is not the end of the rows */
        snprintf(w->err, w->errlen, "%s", sqlite3_errmsg(w->db));
        return -1;
    } else {
        w->done[w->done_len++] = e->cursor;
        w->heap[0] = w->heap[--w->heap_len];
    }
    sift_down(w, 0);
    return 0;
}

/* Puts every service with a row in the range on the heap, at its newest
 * start (one probe of the index each; the cursor condition is applied as
 * start <= after_start, an upper bound). */
static void seed(ag_walk *w)
{
    const ag_walk_range *r = &w->range;
    sqlite3_stmt *probe = NULL;
    if (sqlite3_prepare_v2(w->db,
                           "SELECT max(start) FROM traces WHERE service = ?1"
                           " AND start >= ?2 AND start < ?3 AND start <= ?4",
                           -1, &probe, NULL) != SQLITE_OK) {
        snprintf(w->err, w->errlen, "%s", sqlite3_errmsg(w->db));
        sqlite3_finalize(probe);
        return;
    }
    sqlite3_bind_int64(probe, 2, r->start_ns);
    sqlite3_bind_int64(probe, 3, r->end_ns);
    sqlite3_bind_int64(probe, 4, r->after ? r->after_start : INT64_MAX);
    for (char **s = w->services; *s; s++) {
        sqlite3_bind_text(probe, 1, *s, -1, SQLITE_STATIC);
        int rc = sqlite3_step(probe);
        if (rc == SQLITE_ROW && sqlite3_column_type(probe, 0) != SQLITE_NULL)
            w->heap[w->heap_len++] = (entry){sqlite3_column_int64(probe, 0), INT64_MAX, *s, NULL};
        else if (rc != SQLITE_ROW && rc != SQLITE_DONE && !*w->err)
            snprintf(w->err, w->errlen, "%s", sqlite3_errmsg(w->db));
        sqlite3_reset(probe);
    }
    sqlite3_finalize(probe);
    for (size_t i = w->heap_len / 2; i-- > 0;) sift_down(w, i);
}

ag_walk *ag_walk_open(sqlite3 *db, const char *columns, const ag_walk_range *range, char *err,
                      size_t errlen)
{
    ag_walk *w = ag_xcalloc(1, sizeof *w);
    w->db = db;
    w->columns = ag_xstrdup(columns);
    w->range = *range;
    w->err = err;
    w->errlen = errlen;
    *err = '\0';
    if (range->service) {
        w->services = ag_xcalloc(2, sizeof *w->services);
        w->services[0] = ag_xstrdup(range->service);
    } else {
        w->services = ag_walk_services(db);
        if (!w->services) {
            snprintf(err, errlen, "%s", sqlite3_errmsg(db));
            ag_walk_close(w);
            return NULL;
        }
    }
    w->range.service = NULL; /* the caller's string need not outlive the walk */
    size_t n = 0;
    while (w->services[n]) n++;
    w->heap = ag_xcalloc(n ? n : 1, sizeof *w->heap);
    w->done = ag_xcalloc(n ? n : 1, sizeof *w->done);
    seed(w);
    if (*err) {
        ag_walk_close(w);
        return NULL;
    }
    return w;
}

sqlite3_stmt *ag_walk_next(ag_walk *w)
{
    if (w->handed_out && w->heap_len && advance_top(w)) return NULL;
    /* open services as they reach the top: their bound may hide a newer row */
    while (w->heap_len && !w->heap[0].cursor)
        if (advance_top(w)) return NULL;
    w->handed_out = w->heap_len > 0;
    return w->heap_len ? w->heap[0].cursor : NULL;
}

void ag_walk_close(ag_walk *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->heap_len; i++) sqlite3_finalize(w->heap[i].cursor);
    for (size_t i = 0; i < w->done_len; i++) sqlite3_finalize(w->done[i]);
    ag_walk_services_free(w->services);
    free(w->columns);
    free(w->heap);
    free(w->done);
    free(w);
}

char **ag_walk_services(sqlite3 *db)
{
    size_t len = 0, cap = 16;
    char **out = ag_xmalloc(cap * sizeof *out);
    sqlite3_stmt *first = NULL, *next = NULL;
    /* min() over the leading column of (service, start): one probe each */
    sqlite3_prepare_v2(db, "SELECT min(service) FROM traces", -1, &first, NULL);
    sqlite3_prepare_v2(db, "SELECT min(service) FROM traces WHERE service > ?1", -1, &next, NULL);
    sqlite3_stmt *st = first;
    int rc = first && next ? SQLITE_ROW : SQLITE_ERROR;
    while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW &&
           sqlite3_column_type(st, 0) != SQLITE_NULL) {
        if (len + 1 == cap) out = ag_xrealloc(out, (cap *= 2) * sizeof *out);
        out[len] = ag_xstrdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        st = next;
        if (st) sqlite3_bind_text(st, 1, out[len], -1, SQLITE_STATIC);
        len++;
    }
    out[len] = NULL;
    sqlite3_finalize(first);
    sqlite3_finalize(next);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ag_walk_services_free(out);
        return NULL;
    }
    return out;
}

void ag_walk_services_free(char **services)
{
    if (!services) return;
    for (char **s = services; *s; s++) free(*s);
    free(services);
}
