/* The query API (see api.h; the contract is docs/query-api.md).
 *
 * RED metrics never touch the trace tables: they fold the per-minute rows
 * of service_minutes/resource_minutes into the requested range and its
 * series buckets, merging histograms for the percentiles. Search matches
 * spans, any span of a trace: by service it walks block_services (which
 * chunks of each block hold a span of the service: spanidx.h), otherwise
 * the traces table newest first (walk.h: the merge of every service's
 * rows); it filters chunks on what their row or block entry bounds
 * (duration, error), then decodes the chunk to find a span meeting every
 * condition, and stops at the page size or after a bounded number of rows
 * examined, handing back a cursor, so every request has a bounded cost
 * even at tens of millions of spans.
 *
 * Read errors: a statement that fails to prepare or a step that ends in
 * anything but SQLITE_DONE (a damaged page, an I/O error), a damaged blob
 * or histogram, all make the answer a 500 naming the error, never a 200
 * with what was read before it (an empty search while /services showed
 * hits). The helpers record the request's first error in a thread-local,
 * since every statement of a request runs on the thread answering it. */
#include "api.h"
#include "blob.h"
#include "hist.h"
#include "jsonw.h"
#include "util.h"
#include "walk.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEARCH_SCAN_LIMIT = 5000, MAX_TAGS = 16 };

/* One trace's answer is bounded, whatever the trace: chunks are loaded
 * (oldest first) and decoded while the copies of their blobs and their
 * decoded spans stay within TRACE_MAX_LOADED_BYTES (a chunk may be cut
 * after any span; one span may pass the limit, and the span arrays may
 * take as much again: see ag_blob_decode_prefix), spans are written while
 * the JSON stays within TRACE_MAX_ANSWER_BYTES, and at most
 * TRACE_MAX_CONCURRENT answers are built at once (others get a 503): a GET
 * of a 1.3 M-span trace built 348 MB of JSON (884 MB peak). What is left
 * out is flagged "truncated". */
enum {
    TRACE_MAX_LOADED_BYTES = 32 << 20,
    TRACE_MAX_ANSWER_BYTES = 16 << 20,
    TRACE_MAX_CONCURRENT = 4,
};

static _Thread_local char read_error[256]; /* "" while every read went well */
static _Thread_local int read_error_code;  /* its SQLite extended result code */

static void read_failed(int code, const char *what)
{
    if (read_error[0]) return;
    snprintf(read_error, sizeof read_error, "%s", what ? what : "unknown error");
    read_error_code = code;
}

/* The failure of the last call on db. */
static void read_failed_db(sqlite3 *db)
{
    read_failed(sqlite3_extended_errcode(db), sqlite3_errmsg(db));
}

/* sqlite3_prepare_v2 whose failure is recorded; NULL then, which every
 * sqlite3_bind, step and finalize takes harmlessly (SQLITE_MISUSE). */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) read_failed_db(db);
    return st;
}

/* sqlite3_step: true on a row; false at the end, or on an error, recorded. */
static bool next_row(sqlite3_stmt *st)
{
    if (!st) return false;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) read_failed_db(sqlite3_db_handle(st));
    return false;
}

const char *ag_params_get(const ag_params *p, const char *key)
{
    for (size_t i = 0; i < p->len; i++)
        if (!strcmp(p->items[i].key, key)) return p->items[i].value;
    return NULL;
}

static int error(ag_buf *out, int status, const char *msg)
{
    out->len = 0;
    ag_buf_puts(out, "{\"error\":");
    ag_jw_cstr(out, msg);
    ag_buf_puts(out, "}");
    return status;
}

/* ---- parameters ---- */

/* Every time the API takes is converted to int64 nanoseconds somewhere
 * (search bounds, bucket arithmetic), so a time is checked against the
 * last second int64 nanoseconds can hold (year 2262) before anything is
 * derived from it: a bigger one is a 400, never an overflow. */
#define MAX_UNIX_SECONDS 9223372035.0

/* A unix time in [0, MAX_UNIX_SECONDS]; 0 or -1 when malformed or out of
 * range (NaN fails both comparisons). */
static int param_time(const ag_params *q, const char *key, double dflt, double *out)
{
    const char *v = ag_params_get(q, key);
    if (!v || !*v) return *out = dflt, 0;
    char *end;
    *out = strtod(v, &end);
    return *end || !(*out >= 0 && *out <= MAX_UNIX_SECONDS) ? -1 : 0;
}

/* A decimal integer that fits int64 (strtoll saturates on overflow: that
 * is refused, not clamped). */
static int param_int(const ag_params *q, const char *key, int64_t dflt, int64_t *out)
{
    const char *v = ag_params_get(q, key);
    if (!v || !*v) return *out = dflt, 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno == ERANGE) return -1;
    *out = x;
    return 0;
}

/* A search cursor, "<start>_<id>" as next_cursor writes it, both int64
 * (sscanf's %lld has undefined behaviour past the range). 0 or -1. */
static int parse_cursor(const char *v, int64_t *start, int64_t *id)
{
    char *end;
    errno = 0;
    long long a = strtoll(v, &end, 10);
    if (end == v || *end != '_' || errno == ERANGE) return -1;
    const char *second = end + 1;
    long long b = strtoll(second, &end, 10);
    if (end == second || *end || errno == ERANGE) return -1;
    *start = a;
    *id = b;
    return 0;
}

typedef struct {
    double start, end;
    int64_t step;         /* seconds */
    int64_t first_minute; /* aligned start of the first bucket */
    int nbuckets;
} range;

static int parse_range(const ag_params *q, range *r, ag_buf *out, int *status)
{
    double now = (double)ag_now_ns() / 1e9;
    if (param_time(q, "end", now, &r->end) ||
        param_time(q, "start", r->end > 3600 ? r->end - 3600 : 0, &r->start)) {
        *status = error(out, 400, "start and end must be unix seconds between 0 and 9223372035");
        return -1;
    }
    if (r->end <= r->start) {
        *status = error(out, 400, "end must be after start");
        return -1;
    }
    double span = r->end - r->start;
    r->step = (int64_t)ceil(span / 60.0 / 60.0) * 60;
    if (r->step < 60) r->step = 60;
    r->first_minute = (int64_t)floor(r->start / 60.0) * 60;
    r->nbuckets = (int)((r->end - (double)r->first_minute) / (double)r->step) + 1;
    if (r->nbuckets > 100000) {
        *status = error(out, 400, "time range too large");
        return -1;
    }
    return 0;
}

static void put_number(ag_buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) ag_buf_printf(b, "%lld", (long long)v);
    else ag_buf_printf(b, "%.6f", v);
}

/* ---- RED groups (services, resources) ---- */

/* A point of a series keeps its percentiles, not its histogram: the rows
 * of a group come in minute order, so one histogram per group (current)
 * fills a point at a time, and a query's memory does not grow with the
 * number of points times the histogram's 6.6 KB. */
typedef struct {
    uint64_t hits, errors;
    uint64_t percentiles[3];
} bucket;

typedef struct {
    char *key, *name;
    uint64_t hits, errors;
    ag_hist hist;
    ag_hist current;    /* of series[current_bucket] */
    int current_bucket; /* -1: none yet */
    bucket *series;
} group;

static const double PERCENTILES[3] = {0.50, 0.95, 0.99};

/* Services or resources in one answer: each group holds two histograms
 * (13 KiB) and a series of percentiles, and names come from the network,
 * so a flood of distinct ones must not make the answer unbounded. Past it,
 * rows of new groups are skipped and the answer says "truncated". */
enum { MAX_GROUPS = 1000 };

typedef struct {
    group *items;
    size_t len, cap;
    bool truncated;
} group_list;

/* The group of key, created if there is room; NULL past MAX_GROUPS. */
static group *group_get(group_list *g, const char *key, int nbuckets)
{
    /* rows come sorted by key, so the last group is the only candidate */
    if (g->len && !strcmp(g->items[g->len - 1].key, key)) return &g->items[g->len - 1];
    for (size_t i = 0; i < g->len; i++)
        if (!strcmp(g->items[i].key, key)) return &g->items[i];
    if (g->len == MAX_GROUPS) {
        g->truncated = true;
        return NULL;
    }
    if (g->len == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->items = ag_xrealloc(g->items, g->cap * sizeof *g->items);
    }
    group *e = &g->items[g->len++];
    memset(e, 0, sizeof *e);
    e->key = ag_xstrdup(key);
    e->current_bucket = -1;
    e->series = ag_xcalloc((size_t)nbuckets, sizeof *e->series);
    return e;
}

/* The percentiles of the point being filled; its histogram starts over. */
static void group_close_point(group *e)
{
    if (e->current_bucket < 0) return;
    ag_hist_quantiles(&e->current, PERCENTILES, 3, e->series[e->current_bucket].percentiles);
    memset(&e->current, 0, sizeof e->current);
    e->current_bucket = -1;
}

static void group_add(group *e, const range *r, int64_t minute, uint64_t hits, uint64_t errors,
                      const void *hist, size_t hist_len)
{
    int b = (int)((minute - r->first_minute) / r->step);
    if (b < 0 || b >= r->nbuckets) return;
    if (b != e->current_bucket) group_close_point(e);
    e->current_bucket = b;
    e->hits += hits;
    e->errors += errors;
    if (ag_hist_decode_add(&e->hist, hist, hist_len) ||
        ag_hist_decode_add(&e->current, hist, hist_len))
        read_failed(SQLITE_CORRUPT, "damaged latency histogram");
    bucket *bk = &e->series[b];
    bk->hits += hits;
    bk->errors += errors;
}

/* After the last row: every group's last point. */
static void groups_close(group_list *g)
{
    for (size_t i = 0; i < g->len; i++) group_close_point(&g->items[i]);
}

static void groups_free(group_list *g, int nbuckets)
{
    (void)nbuckets;
    for (size_t i = 0; i < g->len; i++) {
        free(g->items[i].series);
        free(g->items[i].key);
        free(g->items[i].name);
    }
    free(g->items);
}

static int by_hits_desc(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->hits != y->hits) return x->hits < y->hits ? 1 : -1;
    return strcmp(x->key, y->key);
}

static void put_percentile_values(ag_buf *b, const uint64_t p[3])
{
    ag_buf_printf(b, "\"p50_ns\":%llu,\"p95_ns\":%llu,\"p99_ns\":%llu", (unsigned long long)p[0],
                  (unsigned long long)p[1], (unsigned long long)p[2]);
}

static void put_percentiles(ag_buf *b, const ag_hist *h)
{
    uint64_t p[3];
    ag_hist_quantiles(h, PERCENTILES, 3, p);
    put_percentile_values(b, p);
}

static void put_group(ag_buf *b, const group *g, const range *r, const char *keyname)
{
    ag_buf_putc(b, '{');
    ag_jw_key(b, keyname);
    ag_jw_cstr(b, g->key);
    if (g->name) {
        ag_buf_puts(b, ",\"name\":");
        ag_jw_cstr(b, g->name);
    }
    ag_buf_printf(b, ",\"hits\":%llu,\"errors\":%llu,\"error_rate\":", (unsigned long long)g->hits,
                  (unsigned long long)g->errors);
    ag_jw_double(b, g->hits ? (double)g->errors / (double)g->hits : 0);
    ag_buf_puts(b, ",\"rps\":");
    ag_jw_double(b, round((double)g->hits / (r->end - r->start) * 1e4) / 1e4);
    ag_buf_putc(b, ',');
    put_percentiles(b, &g->hist);
    ag_buf_puts(b, ",\"series\":[");
    for (int i = 0; i < r->nbuckets; i++) {
        const bucket *bk = &g->series[i];
        ag_buf_printf(b, "%s{\"t\":%lld,\"hits\":%llu,\"errors\":%llu,", i ? "," : "",
                      (long long)(r->first_minute + (int64_t)i * r->step),
                      (unsigned long long)bk->hits, (unsigned long long)bk->errors);
        put_percentile_values(b, bk->percentiles);
        ag_buf_putc(b, '}');
    }
    ag_buf_puts(b, "]}");
}

static void put_range(ag_buf *b, const range *r)
{
    ag_buf_puts(b, "\"start\":");
    put_number(b, r->start);
    ag_buf_puts(b, ",\"end\":");
    put_number(b, r->end);
    ag_buf_printf(b, ",\"step\":%lld", (long long)r->step);
}

static int api_services(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    range r;
    int status;
    if (parse_range(q, &r, out, &status)) return status;
    sqlite3_stmt *st;
    st = prepare(db, "SELECT service, minute, hits, errors, hist FROM service_minutes"
                     " WHERE minute >= ? AND minute < ? ORDER BY service, minute");
    sqlite3_bind_int64(st, 1, r.first_minute);
    sqlite3_bind_double(st, 2, r.end);
    group_list g = {0};
    while (next_row(st)) {
        group *e = group_get(&g, (const char *)sqlite3_column_text(st, 0), r.nbuckets);
        if (!e) continue;
        group_add(e, &r, sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
                  (uint64_t)sqlite3_column_int64(st, 3), sqlite3_column_blob(st, 4),
                  (size_t)sqlite3_column_bytes(st, 4));
    }
    sqlite3_finalize(st);
    groups_close(&g);
    if (g.len) qsort(g.items, g.len, sizeof *g.items, by_hits_desc);
    ag_buf_putc(out, '{');
    put_range(out, &r);
    ag_buf_puts(out, ",\"services\":[");
    for (size_t i = 0; i < g.len; i++) {
        if (i) ag_buf_putc(out, ',');
        put_group(out, &g.items[i], &r, "service");
    }
    ag_buf_printf(out, "],\"truncated\":%s}", g.truncated ? "true" : "false");
    groups_free(&g, r.nbuckets);
    return 200;
}

static int api_resources(sqlite3 *db, const char *service, const ag_params *q, ag_buf *out)
{
    range r;
    int status;
    if (parse_range(q, &r, out, &status)) return status;
    sqlite3_stmt *st;
    st = prepare(db, "SELECT resource, name, minute, hits, errors, hist FROM resource_minutes"
                     " WHERE service = ? AND minute >= ? AND minute < ?"
                     " ORDER BY resource, minute");
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r.first_minute);
    sqlite3_bind_double(st, 3, r.end);
    group_list g = {0};
    while (next_row(st)) {
        group *e = group_get(&g, (const char *)sqlite3_column_text(st, 0), r.nbuckets);
        if (!e) continue;
        if (!e->name) e->name = ag_xstrdup((const char *)sqlite3_column_text(st, 1));
        group_add(e, &r, sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
                  (uint64_t)sqlite3_column_int64(st, 4), sqlite3_column_blob(st, 5),
                  (size_t)sqlite3_column_bytes(st, 5));
    }
    sqlite3_finalize(st);
    groups_close(&g);
    if (g.len) qsort(g.items, g.len, sizeof *g.items, by_hits_desc);
    ag_buf_puts(out, "{\"service\":");
    ag_jw_cstr(out, service);
    ag_buf_putc(out, ',');
    put_range(out, &r);
    ag_buf_puts(out, ",\"resources\":[");
    for (size_t i = 0; i < g.len; i++) {
        if (i) ag_buf_putc(out, ',');
        put_group(out, &g.items[i], &r, "resource");
    }
    ag_buf_printf(out, "],\"truncated\":%s}", g.truncated ? "true" : "false");
    groups_free(&g, r.nbuckets);
    return 200;
}

static int api_latency(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    range r;
    int status;
    if (parse_range(q, &r, out, &status)) return status;
    const char *service = ag_params_get(q, "service");
    const char *resource = ag_params_get(q, "resource");
    if (!service || !*service) return error(out, 400, "service is required");
    sqlite3_stmt *st;
    if (resource && *resource) {
        st = prepare(db, "SELECT hist FROM resource_minutes WHERE service = ? AND"
                         " minute >= ? AND minute < ? AND resource = ?");
        sqlite3_bind_text(st, 4, resource, -1, SQLITE_STATIC);
    } else {
        st = prepare(db, "SELECT hist FROM service_minutes WHERE service = ? AND"
                         " minute >= ? AND minute < ?");
    }
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r.first_minute);
    sqlite3_bind_double(st, 3, r.end);
    ag_hist h;
    memset(&h, 0, sizeof h);
    while (next_row(st))
        if (ag_hist_decode_add(&h, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)))
            read_failed(SQLITE_CORRUPT, "damaged latency histogram");
    sqlite3_finalize(st);
    ag_buf_puts(out, "{\"buckets\":[");
    int n = 0;
    for (int i = 0; i < AG_HIST_BUCKETS; i++) {
        if (!h.counts[i]) continue;
        ag_buf_printf(out, "%s{\"lower_ns\":%llu,\"upper_ns\":%llu,\"count\":%u}", n++ ? "," : "",
                      (unsigned long long)ag_hist_lower(i), (unsigned long long)ag_hist_upper(i),
                      h.counts[i]);
    }
    ag_buf_puts(out, "],");
    put_percentiles(out, &h);
    ag_buf_printf(out, ",\"count\":%llu}", (unsigned long long)ag_hist_count(&h));
    return 200;
}

/* ---- trace search and tail ---- */

/* Writes a trace row's fields (columns from c0: SUMMARY_COLUMNS) without
 * the closing brace, so a search can add its matching span. */
static void put_trace_fields(ag_buf *b, sqlite3_stmt *st, int c0)
{
    ag_buf_puts(b, "{\"trace_id\":");
    ag_jw_trace_id(b, (uint64_t)sqlite3_column_int64(st, c0 + 1),
                   (uint64_t)sqlite3_column_int64(st, c0));
    ag_buf_puts(b, ",\"service\":");
    ag_jw_str(b, (const char *)sqlite3_column_text(st, c0 + 4),
              (size_t)sqlite3_column_bytes(st, c0 + 4));
    ag_buf_puts(b, ",\"resource\":");
    ag_jw_str(b, (const char *)sqlite3_column_text(st, c0 + 5),
              (size_t)sqlite3_column_bytes(st, c0 + 5));
    ag_buf_puts(b, ",\"name\":");
    ag_jw_str(b, (const char *)sqlite3_column_text(st, c0 + 6),
              (size_t)sqlite3_column_bytes(st, c0 + 6));
    ag_buf_printf(b, ",\"start_us\":%lld,\"duration_ns\":%lld,\"error\":%d,\"span_count\":%d",
                  (long long)(sqlite3_column_int64(st, c0 + 2) / 1000),
                  (long long)sqlite3_column_int64(st, c0 + 3), sqlite3_column_int(st, c0 + 7),
                  sqlite3_column_int(st, c0 + 8));
}

static void put_trace_summary(ag_buf *b, sqlite3_stmt *st, int c0)
{
    put_trace_fields(b, st, c0);
    ag_buf_putc(b, '}');
}

#define SUMMARY_COLUMNS \
    "trace_id, trace_id_high, start, duration, service, resource, name, error, span_count"

typedef struct {
    const char *key, *value;
    size_t key_len, value_len;
} tag_filter;

/* What one span must be to match a search: every condition holds on that
 * same span (NULL, -1, false: no condition). */
typedef struct {
    const char *service, *resource, *name;
    int64_t min_d, max_d;
    bool only_errors;
    const tag_filter *tags;
    int ntags;
} span_filter;

static bool str_is(ag_str s, const char *want)
{
    return !want || (strlen(want) == s.len && !memcmp(s.ptr, want, s.len));
}

static bool span_has_tag(const ag_span *s, const tag_filter *tag)
{
    for (size_t m = 0; m < s->meta_len; m++)
        if (s->meta[m].key.len == tag->key_len && s->meta[m].value.len == tag->value_len &&
            !memcmp(s->meta[m].key.ptr, tag->key, tag->key_len) &&
            !memcmp(s->meta[m].value.ptr, tag->value, tag->value_len))
            return true;
    return false;
}

static bool span_matches(const ag_span *s, const span_filter *f)
{
    if ((f->min_d >= 0 && s->duration < f->min_d) || (f->max_d >= 0 && s->duration > f->max_d) ||
        (f->only_errors && !s->error) || !str_is(s->service, f->service) ||
        !str_is(s->resource, f->resource) || !str_is(s->name, f->name))
        return false;
    for (int k = 0; k < f->ntags; k++)
        if (!span_has_tag(s, &f->tags[k])) return false;
    return true;
}

/* ,"name":...,"service":...,"resource":... of a span */
static void put_span_names(ag_buf *b, const ag_span *s)
{
    ag_buf_puts(b, ",\"name\":");
    ag_jw_str(b, s->name.ptr, s->name.len);
    ag_buf_puts(b, ",\"service\":");
    ag_jw_str(b, s->service.ptr, s->service.len);
    ag_buf_puts(b, ",\"resource\":");
    ag_jw_str(b, s->resource.ptr, s->resource.len);
}

/* Whether a span of the chunk matches f; if so, adds the longest such span
 * to out as ,"match":{...}. A blob that does not decode matches nothing. */
static bool chunk_match(const void *blob, size_t len, const span_filter *f, ag_buf *out)
{
    ag_arena a;
    ag_arena_init(&a);
    ag_trace t;
    const ag_span *best = NULL;
    if (ag_blob_decode(blob, len, 0, &a, &t) == 0)
        for (size_t i = 0; i < t.len; i++)
            if (span_matches(&t.spans[i], f) && (!best || t.spans[i].duration > best->duration))
                best = &t.spans[i];
    if (best) {
        ag_buf_puts(out, ",\"match\":{\"span_id\":");
        ag_jw_span_id(out, best->span_id);
        put_span_names(out, best);
        ag_buf_printf(out, ",\"start_us\":%lld,\"duration_ns\":%lld,\"error\":%d}",
                      (long long)(best->start / 1000), (long long)best->duration,
                      best->error ? 1 : 0);
    }
    ag_arena_free(&a);
    return best != NULL;
}

static int parse_tags(const ag_params *q, tag_filter *tags, int *ntags)
{
    *ntags = 0;
    for (size_t i = 0; i < q->len; i++) {
        if (strcmp(q->items[i].key, "tag")) continue;
        const char *v = q->items[i].value, *colon = strchr(v, ':');
        if (!colon || colon == v || *ntags == MAX_TAGS) return -1;
        tags[*ntags] = (tag_filter){v, colon + 1, (size_t)(colon - v), strlen(colon + 1)};
        (*ntags)++;
    }
    return 0;
}

/* The rows a search by service walks: through block_services (store.c,
 * spanidx.h), newest block first, the chunks of each block that hold a span
 * of the service, newest first (so in the order they were stored), skipping
 * blocks outside the time range or without a span long enough or an error
 * when the filter asks for them. Rows: id, start, SUMMARY_COLUMNS from 2. */
typedef struct {
    sqlite3_stmt *blocks, *row;
    ag_buf bits;
    int64_t first, k; /* the block's first chunk; next bit to test (-1: none) */
    const ag_walk_range *wr;
    const span_filter *f;
} service_walk;

static bool service_walk_open(service_walk *w, sqlite3 *db, const ag_walk_range *wr,
                              const span_filter *f)
{
    *w = (service_walk){.k = -1, .wr = wr, .f = f};
    w->blocks = prepare(db, "SELECT first_chunk, chunks, min_start, max_start, max_duration, error"
                            " FROM block_services WHERE service = ?1 AND first_chunk < ?2"
                            " ORDER BY block DESC");
    w->row = prepare(db, "SELECT id, start, " SUMMARY_COLUMNS " FROM traces WHERE id = ?1");
    if (!w->blocks || !w->row) return false;
    sqlite3_bind_text(w->blocks, 1, wr->service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(w->blocks, 2, wr->after ? wr->after_id : INT64_MAX);
    return true;
}

/* Loads the next block worth looking into; false after the last. */
static bool service_walk_block(service_walk *w)
{
    while (next_row(w->blocks)) {
        const span_filter *f = w->f;
        if (sqlite3_column_int64(w->blocks, 3) < w->wr->start_ns ||
            sqlite3_column_int64(w->blocks, 2) >= w->wr->end_ns ||
            (f->min_d >= 0 && sqlite3_column_int64(w->blocks, 4) < f->min_d) ||
            (f->only_errors && !sqlite3_column_int(w->blocks, 5)))
            continue;
        w->first = sqlite3_column_int64(w->blocks, 0);
        w->bits.len = 0;
        ag_buf_append(&w->bits, sqlite3_column_blob(w->blocks, 1),
                      (size_t)sqlite3_column_bytes(w->blocks, 1));
        w->k = (int64_t)w->bits.len * 8 - 1;
        return true;
    }
    return false;
}

static sqlite3_stmt *service_walk_next(service_walk *w)
{
    sqlite3_reset(w->row);
    for (;;) {
        for (; w->k >= 0; w->k--) {
            if (!(w->bits.data[w->k / 8] & (1 << (w->k % 8)))) continue;
            int64_t id = w->first + w->k;
            if (w->wr->after && id >= w->wr->after_id) continue;
            sqlite3_bind_int64(w->row, 1, id);
            if (!next_row(w->row)) { /* deleted by retention since, or a read error */
                sqlite3_reset(w->row);
                continue;
            }
            int64_t start = sqlite3_column_int64(w->row, 1);
            if (start >= w->wr->start_ns && start < w->wr->end_ns) {
                w->k--;
                return w->row;
            }
            sqlite3_reset(w->row);
        }
        if (!service_walk_block(w)) return NULL;
    }
}

static void service_walk_close(service_walk *w)
{
    sqlite3_finalize(w->blocks);
    sqlite3_finalize(w->row);
    ag_buf_free(&w->bits);
}

static int api_search(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    range r;
    int status;
    if (parse_range(q, &r, out, &status)) return status;
    int64_t limit, min_d, max_d;
    if (param_int(q, "limit", 50, &limit) || limit < 1 || limit > 1000)
        return error(out, 400, "limit must be between 1 and 1000");
    if (param_int(q, "min_duration_ns", -1, &min_d) || param_int(q, "max_duration_ns", -1, &max_d))
        return error(out, 400, "min_duration_ns and max_duration_ns must be integers");
    tag_filter tags[MAX_TAGS];
    int ntags;
    if (parse_tags(q, tags, &ntags)) return error(out, 400, "tag must be key:value (at most 16)");
    const char *service = ag_params_get(q, "service"), *resource = ag_params_get(q, "resource");
    const char *name = ag_params_get(q, "name"), *err = ag_params_get(q, "error");
    const char *cursor = ag_params_get(q, "cursor");
    int64_t cur_start = 0, cur_id = 0;
    if (cursor && *cursor && parse_cursor(cursor, &cur_start, &cur_id))
        return error(out, 400, "bad cursor");
    if (service && !*service) service = NULL;
    if (resource && !*resource) resource = NULL;
    if (name && !*name) name = NULL;
    span_filter f = {service, resource, name,
                     min_d,   max_d,    err && (!strcmp(err, "1") || !strcmp(err, "true")),
                     tags,    ntags};
    bool span_level =
        service || resource || name || ntags || min_d >= 0 || max_d >= 0 || f.only_errors;

    /* Only the indexed conditions (service, time) go to SQL; the others are
     * checked here, on the index row first, then on the decoded chunk, so
     * the scan limit below bounds the work however rare a match is. */
    ag_walk_range wr = {
        service, (int64_t)(r.start * 1e9), (int64_t)(r.end * 1e9), cursor && *cursor, cur_start,
        cur_id};
    char walk_err[256] = "";
    ag_walk *walk = NULL;
    service_walk sw = {0};
    if (service) {
        if (!service_walk_open(&sw, db, &wr, &f)) return service_walk_close(&sw), 500;
    } else if (!(walk = ag_walk_open(db, SUMMARY_COLUMNS, &wr, walk_err, sizeof walk_err))) {
        return read_failed(sqlite3_extended_errcode(db), walk_err), 500;
    }
    sqlite3_stmt *st, *blob_st = NULL;
    ag_stored_blobs *blobs = NULL;
    if (span_level) {
        blob_st = prepare(db, "SELECT " AG_STORED_BLOB_COLUMNS " FROM traces WHERE id = ?");
        blobs = ag_stored_blobs_new(db);
    }

    ag_buf_puts(out, "{\"traces\":[");
    int64_t found = 0, scanned = 0, last_start = 0, last_id = 0;
    bool more = false;
    uint64_t seen[1000][2];
    while ((st = service ? service_walk_next(&sw) : ag_walk_next(walk))) {
        last_id = sqlite3_column_int64(st, 0);
        last_start = sqlite3_column_int64(st, 1);
        if (found == limit || ++scanned > SEARCH_SCAN_LIMIT) {
            more = true;
            break;
        }
        /* columns: id, start, then SUMMARY_COLUMNS from 2; the chunk's
         * length bounds its spans' durations, its error says if any is one */
        uint64_t lo = (uint64_t)sqlite3_column_int64(st, 2),
                 hi = (uint64_t)sqlite3_column_int64(st, 3);
        if ((min_d >= 0 && sqlite3_column_int64(st, 5) < min_d) ||
            (f.only_errors && !sqlite3_column_int(st, 9)))
            continue;
        bool dup = false;
        for (int64_t i = 0; i < found && !dup; i++) dup = seen[i][0] == lo && seen[i][1] == hi;
        if (dup) continue;
        size_t mark = out->len;
        if (found) ag_buf_putc(out, ',');
        put_trace_fields(out, st, 2);
        if (span_level) {
            sqlite3_bind_int64(blob_st, 1, last_id);
            const void *blob;
            size_t blob_len;
            bool ok = next_row(blob_st);
            if (ok && ag_stored_blobs_get(blobs, blob_st, 0, &blob, &blob_len))
                ok = false, read_failed(SQLITE_CORRUPT, "damaged trace block");
            ok = ok && chunk_match(blob, blob_len, &f, out);
            sqlite3_reset(blob_st);
            if (!ok) {
                out->len = mark;
                continue;
            }
        }
        ag_buf_putc(out, '}');
        seen[found][0] = lo;
        seen[found][1] = hi;
        found++;
    }
    ag_walk_close(walk);
    service_walk_close(&sw);
    sqlite3_finalize(blob_st);
    ag_stored_blobs_free(blobs);
    if (*walk_err) return read_failed(sqlite3_extended_errcode(db), walk_err), 500;
    /* the cursor resumes at the row not yet returned: start/id of the row
     * we stopped at, made exclusive by pointing just after it */
    if (more)
        ag_buf_printf(out, "],\"next_cursor\":\"%lld_%lld\"}", (long long)last_start,
                      (long long)last_id + 1);
    else ag_buf_puts(out, "],\"next_cursor\":null}");
    return 200;
}

static int api_tail(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    int64_t limit, after;
    if (param_int(q, "limit", 100, &limit) || limit < 1 || limit > 1000)
        return error(out, 400, "limit must be between 1 and 1000");
    if (param_int(q, "after", 0, &after) || after < 0) return error(out, 400, "bad after cursor");
    sqlite3_stmt *st;
    st = prepare(db, "SELECT id, " SUMMARY_COLUMNS " FROM traces WHERE id > ?"
                     " ORDER BY id DESC LIMIT ?");
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, limit);
    int64_t cursor = after;
    int n = 0;
    ag_buf_puts(out, "{\"traces\":[");
    while (next_row(st)) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id > cursor) cursor = id;
        if (n++) ag_buf_putc(out, ',');
        put_trace_summary(out, st, 1);
    }
    sqlite3_finalize(st);
    if (!n && !after) {
        st = prepare(db, "SELECT coalesce(max(id), 0) FROM traces");
        if (next_row(st)) cursor = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    ag_buf_printf(out, "],\"cursor\":\"%lld\"}", (long long)cursor);
    return 200;
}

static int api_operations(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    const char *service = ag_params_get(q, "service");
    if (!service || !*service) return error(out, 400, "service is required");
    ag_buf_puts(out, "{\"service\":");
    ag_jw_cstr(out, service);
    static const char *const sql[2] = {
        "SELECT DISTINCT name FROM operations WHERE service = ? ORDER BY name LIMIT 10000",
        "SELECT DISTINCT resource FROM operations WHERE service = ? ORDER BY resource LIMIT 10000",
    };
    for (int k = 0; k < 2; k++) {
        ag_buf_puts(out, k ? "],\"resources\":[" : ",\"names\":[");
        sqlite3_stmt *st;
        st = prepare(db, sql[k]);
        sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
        for (int n = 0; next_row(st); n++) {
            if (n) ag_buf_putc(out, ',');
            ag_jw_str(out, (const char *)sqlite3_column_text(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0));
        }
        sqlite3_finalize(st);
    }
    ag_buf_puts(out, "]}");
    return 200;
}

/* ---- one trace ---- */

/* Typed event attributes ({type, string_value|bool_value|int_value|
 * double_value|array_value}) are unwrapped to plain JSON values. */
static void put_msgpack_json(ag_buf *b, const msgpack_object *o, int depth);

static const msgpack_object *map_get(const msgpack_object *o, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            !memcmp(k->via.str.ptr, key, n))
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

static bool put_any_value(ag_buf *b, const msgpack_object *o, int depth)
{
    if (o->type != MSGPACK_OBJECT_MAP || !map_get(o, "type")) return false;
    static const char *const fields[] = {"string_value", "bool_value", "int_value", "double_value"};
    for (int i = 0; i < 4; i++) {
        const msgpack_object *v = map_get(o, fields[i]);
        if (v) return put_msgpack_json(b, v, depth + 1), true;
    }
    const msgpack_object *arr = map_get(o, "array_value");
    if (arr && arr->type == MSGPACK_OBJECT_MAP) arr = map_get(arr, "values");
    if (arr) return put_msgpack_json(b, arr, depth + 1), true;
    return false;
}

static void put_msgpack_json(ag_buf *b, const msgpack_object *o, int depth)
{
    if (depth > 32) {
        ag_buf_puts(b, "null");
        return;
    }
    if (put_any_value(b, o, depth)) return;
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: ag_buf_puts(b, o->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: ag_jw_u64(b, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: ag_jw_i64(b, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: ag_jw_double(b, o->via.f64); break;
    case MSGPACK_OBJECT_STR: ag_jw_str(b, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: ag_jw_str(b, o->via.bin.ptr, o->via.bin.size); break;
    case MSGPACK_OBJECT_ARRAY:
        ag_buf_putc(b, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) ag_buf_putc(b, ',');
            put_msgpack_json(b, &o->via.array.ptr[i], depth + 1);
        }
        ag_buf_putc(b, ']');
        break;
    case MSGPACK_OBJECT_MAP:
        ag_buf_putc(b, '{');
        for (uint32_t i = 0, n = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR) continue;
            if (n++) ag_buf_putc(b, ',');
            ag_jw_str(b, k->via.str.ptr, k->via.str.size);
            ag_buf_putc(b, ':');
            put_msgpack_json(b, &o->via.map.ptr[i].val, depth + 1);
        }
        ag_buf_putc(b, '}');
        break;
    default: ag_buf_puts(b, "null");
    }
}

static void put_tags(ag_buf *b, const ag_tag *tags, size_t n)
{
    ag_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) ag_buf_putc(b, ',');
        ag_jw_str(b, tags[i].key.ptr, tags[i].key.len);
        ag_buf_putc(b, ':');
        ag_jw_str(b, tags[i].value.ptr, tags[i].value.len);
    }
    ag_buf_putc(b, '}');
}

static void put_cjson(ag_buf *b, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    ag_buf_puts(b, s ? s : "null");
    free(s);
}

/* Links: native ones, else ddtrace's JSON in meta _dd.span_links. */
static void put_links(ag_buf *b, const ag_span *s)
{
    ag_buf_puts(b, ",\"span_links\":[");
    for (size_t i = 0; i < s->links_len; i++) {
        const ag_link *l = &s->links[i];
        if (i) ag_buf_putc(b, ',');
        ag_buf_puts(b, "{\"trace_id\":");
        ag_jw_trace_id(b, l->trace_id_high, l->trace_id);
        ag_buf_puts(b, ",\"span_id\":");
        ag_jw_span_id(b, l->span_id);
        ag_buf_puts(b, ",\"attributes\":");
        put_tags(b, l->attributes, l->attributes_len);
        ag_buf_puts(b, ",\"tracestate\":");
        ag_jw_str(b, l->tracestate.ptr, l->tracestate.len);
        ag_buf_printf(b, ",\"flags\":%u}", l->flags);
    }
    ag_tag *json = s->links_len ? NULL : ag_span_meta(s, "_dd.span_links");
    cJSON *arr = json ? cJSON_ParseWithLength(json->value.ptr, json->value.len) : NULL;
    int n = 0;
    cJSON *l, *list = cJSON_IsArray(arr) ? arr : NULL;
    cJSON_ArrayForEach(l, list)
    {
        if (!cJSON_IsObject(l)) continue;
        const cJSON *tid = cJSON_GetObjectItem(l, "trace_id"),
                    *sid = cJSON_GetObjectItem(l, "span_id");
        const cJSON *attrs = cJSON_GetObjectItem(l, "attributes"),
                    *ts = cJSON_GetObjectItem(l, "tracestate");
        const cJSON *flags = cJSON_GetObjectItem(l, "flags");
        if (n++) ag_buf_putc(b, ',');
        ag_buf_puts(b, "{\"trace_id\":");
        ag_jw_cstr(b, cJSON_IsString(tid) ? tid->valuestring : "");
        ag_buf_puts(b, ",\"span_id\":");
        ag_jw_cstr(b, cJSON_IsString(sid) ? sid->valuestring : "");
        ag_buf_puts(b, ",\"attributes\":");
        if (cJSON_IsObject(attrs)) put_cjson(b, attrs);
        else ag_buf_puts(b, "{}");
        ag_buf_puts(b, ",\"tracestate\":");
        ag_jw_cstr(b, cJSON_IsString(ts) ? ts->valuestring : "");
        ag_buf_printf(b, ",\"flags\":%u}",
                      cJSON_IsNumber(flags) ? (unsigned)flags->valuedouble : 0u);
    }
    cJSON_Delete(arr);
    ag_buf_putc(b, ']');
}

/* Events: native ones, else ddtrace's JSON in meta "events". */
static void put_events(ag_buf *b, const ag_span *s)
{
    ag_buf_puts(b, ",\"span_events\":[");
    for (size_t i = 0; i < s->events_len; i++) {
        const ag_event *e = &s->events[i];
        if (i) ag_buf_putc(b, ',');
        ag_buf_puts(b, "{\"name\":");
        ag_jw_str(b, e->name.ptr, e->name.len);
        ag_buf_printf(b, ",\"time_unix_nano\":\"%llu\",\"attributes\":",
                      (unsigned long long)e->time_unix_nano);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        if (e->attributes_msgpack.len &&
            msgpack_unpack_next(&u, e->attributes_msgpack.ptr, e->attributes_msgpack.len, &off) ==
                MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_MAP)
            put_msgpack_json(b, &u.data, 0);
        else ag_buf_puts(b, "{}");
        msgpack_unpacked_destroy(&u);
        ag_buf_putc(b, '}');
    }
    ag_tag *json = s->events_len ? NULL : ag_span_meta(s, "events");
    cJSON *arr = json ? cJSON_ParseWithLength(json->value.ptr, json->value.len) : NULL;
    int n = 0;
    cJSON *e, *list = cJSON_IsArray(arr) ? arr : NULL;
    cJSON_ArrayForEach(e, list)
    {
        if (!cJSON_IsObject(e)) continue;
        const cJSON *name = cJSON_GetObjectItem(e, "name"),
                    *t = cJSON_GetObjectItem(e, "time_unix_nano");
        const cJSON *attrs = cJSON_GetObjectItem(e, "attributes");
        if (n++) ag_buf_putc(b, ',');
        ag_buf_puts(b, "{\"name\":");
        ag_jw_cstr(b, cJSON_IsString(name) ? name->valuestring : "");
        ag_buf_printf(b, ",\"time_unix_nano\":\"%.0f\",\"attributes\":",
                      cJSON_IsNumber(t) ? t->valuedouble : 0.0);
        if (cJSON_IsObject(attrs)) put_cjson(b, attrs);
        else ag_buf_puts(b, "{}");
        ag_buf_putc(b, '}');
    }
    cJSON_Delete(arr);
    ag_buf_putc(b, ']');
}

typedef struct {
    ag_span span;
    uint64_t trace_id_high;
} stored_span;

static int by_start(const void *a, const void *b)
{
    const stored_span *x = a, *y = b;
    if (x->span.start != y->span.start) return x->span.start < y->span.start ? -1 : 1;
    return 0;
}

static void put_span(ag_buf *b, const ag_span *s, uint64_t high, int64_t trace_start)
{
    ag_buf_puts(b, "{\"trace_id\":");
    ag_jw_trace_id(b, high, s->trace_id);
    ag_buf_puts(b, ",\"span_id\":");
    ag_jw_span_id(b, s->span_id);
    ag_buf_puts(b, ",\"parent_id\":");
    if (s->parent_id) ag_jw_span_id(b, s->parent_id);
    else ag_buf_puts(b, "null");
    put_span_names(b, s);
    ag_buf_puts(b, ",\"type\":");
    ag_jw_str(b, s->type.ptr, s->type.len);
    ag_buf_printf(b, ",\"start_us\":%lld,\"offset_ns\":%lld,\"duration_ns\":%lld,\"error\":%d,",
                  (long long)(s->start / 1000), (long long)(s->start - trace_start),
                  (long long)s->duration, s->error ? 1 : 0);
    ag_buf_puts(b, "\"meta\":");
    put_tags(b, s->meta, s->meta_len);
    ag_buf_puts(b, ",\"metrics\":{");
    for (size_t i = 0; i < s->metrics_len; i++) {
        if (i) ag_buf_putc(b, ',');
        ag_jw_str(b, s->metrics[i].key.ptr, s->metrics[i].key.len);
        ag_buf_putc(b, ':');
        ag_jw_double(b, s->metrics[i].value);
    }
    ag_buf_putc(b, '}');
    put_links(b, s);
    put_events(b, s);
    ag_buf_putc(b, '}');
}

/* Loads the chunks of the trace, oldest first, within TRACE_MAX_LOADED_BYTES
 * (*truncated set when spans were left out); 0 found, -1 not found. Blob
 * memory is copied into the arena so spans outlive the statement. */
static int load_trace(sqlite3 *db, uint64_t high, uint64_t low, ag_arena *a, stored_span **out,
                      size_t *out_len, bool *truncated)
{
    size_t loaded = 0;
    *truncated = false;
    sqlite3_stmt *st;
    st = prepare(db, AG_TRACE_BY_ID_SQL);
    sqlite3_bind_int64(st, 1, (int64_t)low);
    ag_stored_blobs *blobs = ag_stored_blobs_new(db);
    stored_span *spans = NULL;
    size_t len = 0, cap = 0;
    while (next_row(st)) {
        uint64_t row_high = (uint64_t)sqlite3_column_int64(st, 0);
        if (high && row_high && row_high != high) continue;
        const void *stored;
        size_t n;
        if (ag_stored_blobs_get(blobs, st, 1, &stored, &n)) {
            read_failed(SQLITE_CORRUPT, "damaged trace block");
            continue;
        }
        if (loaded >= TRACE_MAX_LOADED_BYTES || n > TRACE_MAX_LOADED_BYTES - loaded) {
            *truncated = true;
            continue;
        }
        loaded += n;
        void *blob = ag_arena_alloc(a, n ? n : 1);
        memcpy(blob, stored, n);
        ag_trace t;
        size_t decoded = TRACE_MAX_LOADED_BYTES - loaded;
        int cut = ag_blob_decode_prefix(blob, n, low, a, &t, &decoded);
        if (cut < 0) {
            read_failed(SQLITE_CORRUPT, "damaged trace chunk");
            continue;
        }
        if (cut) *truncated = true;
        loaded += decoded;
        if (len + t.len > cap) {
            cap = (len + t.len) * 2;
            spans = ag_xrealloc(spans, cap * sizeof *spans);
        }
        for (size_t i = 0; i < t.len; i++) spans[len++] = (stored_span){t.spans[i], row_high};
    }
    sqlite3_finalize(st);
    ag_stored_blobs_free(blobs);
    *out = spans;
    *out_len = len;
    return len ? 0 : -1;
}

static atomic_int traces_building;

static int api_trace_bounded(sqlite3 *db, const char *id, ag_buf *out);

static int api_trace(sqlite3 *db, const char *id, ag_buf *out)
{
    if (atomic_fetch_add(&traces_building, 1) >= TRACE_MAX_CONCURRENT) {
        atomic_fetch_sub(&traces_building, 1);
        return error(out, 503, "too many trace answers being built at once, retry");
    }
    int status = api_trace_bounded(db, id, out);
    atomic_fetch_sub(&traces_building, 1);
    return status;
}

static int api_trace_bounded(sqlite3 *db, const char *id, ag_buf *out)
{
    uint64_t high, low, alt;
    bool has_alt;
    if (ag_parse_trace_id(id, &high, &low, &alt, &has_alt))
        return error(out, 400, "trace id must be 32 or 16 hex digits, or decimal");
    ag_arena a;
    ag_arena_init(&a);
    stored_span *spans;
    size_t n;
    bool truncated;
    if (load_trace(db, high, low, &a, &spans, &n, &truncated) &&
        (!has_alt || load_trace(db, 0, low = alt, &a, &spans, &n, &truncated))) {
        ag_arena_free(&a);
        free(spans);
        return error(out, 404, "trace not found");
    }
    /* the 128-bit id: the high half any chunk carried */
    uint64_t trace_high = high;
    for (size_t i = 0; i < n && !trace_high; i++) trace_high = spans[i].trace_id_high;
    if (n) qsort(spans, n, sizeof *spans, by_start);
    int64_t start = INT64_MAX, end = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].span.start < start) start = spans[i].span.start;
        if (spans[i].span.start + spans[i].span.duration > end)
            end = spans[i].span.start + spans[i].span.duration;
    }
    ag_buf_puts(out, "{\"trace_id\":");
    ag_jw_trace_id(out, trace_high, low);
    ag_buf_printf(out, ",\"start_us\":%lld,\"duration_ns\":%lld,\"spans\":[",
                  (long long)(start / 1000), (long long)(end - start));
    size_t written = 0;
    for (; written < n; written++) {
        size_t before = out->len;
        if (written) ag_buf_putc(out, ',');
        put_span(out, &spans[written].span, trace_high, start);
        if (out->len > TRACE_MAX_ANSWER_BYTES) {
            out->len = before; /* the span that went over is left out */
            truncated = true;
            break;
        }
    }
    ag_buf_printf(out, "],\"span_count\":%zu,\"truncated\":%s}", written,
                  truncated ? "true" : "false");
    free(spans);
    ag_arena_free(&a);
    return 200;
}

/* ---- service map (svcmap.h) ---- */

/* One edge of the answer: the rows of svcmap_minutes come sorted by
 * (caller, callee), so only the last edge is ever added to. */
typedef struct {
    char *from, *to;
    uint64_t calls, errors;
    uint64_t p[3];
} map_edge;

typedef struct {
    char *service;
    uint64_t hits, errors;
} map_node;

typedef struct {
    map_edge *edges;
    size_t edges_len, edges_cap;
    map_node *nodes;
    size_t nodes_len, nodes_cap;
    bool truncated;
} service_map;

static map_node *map_node_get(service_map *m, const char *service, bool create)
{
    for (size_t i = 0; i < m->nodes_len; i++)
        if (!strcmp(m->nodes[i].service, service)) return &m->nodes[i];
    if (!create) return NULL;
    if (m->nodes_len == MAX_GROUPS) return m->truncated = true, NULL;
    if (m->nodes_len == m->nodes_cap) {
        m->nodes_cap = m->nodes_cap ? m->nodes_cap * 2 : 16;
        m->nodes = ag_xrealloc(m->nodes, m->nodes_cap * sizeof *m->nodes);
    }
    map_node *n = &m->nodes[m->nodes_len++];
    *n = (map_node){ag_xstrdup(service), 0, 0};
    return n;
}

/* Folds the edge rows of the range into m->edges, one histogram at a time. */
static void map_read_edges(sqlite3 *db, const range *r, const char *env, service_map *m)
{
    sqlite3_stmt *st =
        prepare(db, "SELECT caller, callee, calls, errors, hist FROM svcmap_minutes"
                    " WHERE minute >= ?1 AND minute < ?2 AND (?3 IS NULL OR env = ?3)"
                    " ORDER BY caller, callee");
    sqlite3_bind_int64(st, 1, r->first_minute);
    sqlite3_bind_double(st, 2, r->end);
    if (env) sqlite3_bind_text(st, 3, env, -1, SQLITE_STATIC);
    ag_hist *h = ag_xcalloc(1, sizeof *h);
    map_edge *e = NULL;
    while (next_row(st)) {
        const char *from = (const char *)sqlite3_column_text(st, 0);
        const char *to = (const char *)sqlite3_column_text(st, 1);
        if (!e || strcmp(e->from, from) || strcmp(e->to, to)) {
            if (e) ag_hist_quantiles(h, PERCENTILES, 3, e->p), memset(h, 0, sizeof *h);
            if (m->edges_len == MAX_GROUPS) {
                m->truncated = true;
                e = NULL;
                break;
            }
            if (m->edges_len == m->edges_cap) {
                m->edges_cap = m->edges_cap ? m->edges_cap * 2 : 16;
                m->edges = ag_xrealloc(m->edges, m->edges_cap * sizeof *m->edges);
            }
            e = &m->edges[m->edges_len++];
            *e = (map_edge){ag_xstrdup(from), ag_xstrdup(to), 0, 0, {0}};
        }
        e->calls += (uint64_t)sqlite3_column_int64(st, 2);
        e->errors += (uint64_t)sqlite3_column_int64(st, 3);
        if (ag_hist_decode_add(h, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4)))
            read_failed(SQLITE_CORRUPT, "damaged service map histogram");
    }
    if (e) ag_hist_quantiles(h, PERCENTILES, 3, e->p);
    free(h);
    sqlite3_finalize(st);
}

/* Every service with hits in the range is a node; with env, only the
 * services of that env's edges (the per-service aggregates have no env). */
static void map_read_nodes(sqlite3 *db, const range *r, bool all, service_map *m)
{
    for (size_t i = 0; i < m->edges_len; i++) {
        map_node_get(m, m->edges[i].from, true);
        map_node_get(m, m->edges[i].to, true);
    }
    sqlite3_stmt *st = prepare(db, "SELECT service, sum(hits), sum(errors) FROM service_minutes"
                                   " WHERE minute >= ? AND minute < ? GROUP BY service");
    sqlite3_bind_int64(st, 1, r->first_minute);
    sqlite3_bind_double(st, 2, r->end);
    while (next_row(st)) {
        map_node *n = map_node_get(m, (const char *)sqlite3_column_text(st, 0), all);
        if (!n) continue;
        n->hits = (uint64_t)sqlite3_column_int64(st, 1);
        n->errors = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
}

static uint64_t map_unresolved(sqlite3 *db, const range *r, const char *env)
{
    sqlite3_stmt *st =
        prepare(db, "SELECT coalesce(sum(count), 0) FROM svcmap_unresolved"
                    " WHERE minute >= ?1 AND minute < ?2 AND (?3 IS NULL OR env = ?3)");
    sqlite3_bind_int64(st, 1, r->first_minute);
    sqlite3_bind_double(st, 2, r->end);
    if (env) sqlite3_bind_text(st, 3, env, -1, SQLITE_STATIC);
    uint64_t n = next_row(st) ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

static void put_map(ag_buf *out, const service_map *m, const range *r, uint64_t unresolved)
{
    double seconds = r->end - r->start;
    ag_buf_putc(out, '{');
    put_range(out, r);
    ag_buf_puts(out, ",\"nodes\":[");
    for (size_t i = 0; i < m->nodes_len; i++) {
        const map_node *n = &m->nodes[i];
        ag_buf_puts(out, i ? ",{\"service\":" : "{\"service\":");
        ag_jw_cstr(out, n->service);
        ag_buf_printf(out, ",\"hits\":%llu,\"errors\":%llu}", (unsigned long long)n->hits,
                      (unsigned long long)n->errors);
    }
    ag_buf_puts(out, "],\"edges\":[");
    for (size_t i = 0; i < m->edges_len; i++) {
        const map_edge *e = &m->edges[i];
        ag_buf_puts(out, i ? ",{\"from\":" : "{\"from\":");
        ag_jw_cstr(out, e->from);
        ag_buf_puts(out, ",\"to\":");
        ag_jw_cstr(out, e->to);
        ag_buf_printf(out, ",\"calls\":%llu,\"errors\":%llu,\"rps\":", (unsigned long long)e->calls,
                      (unsigned long long)e->errors);
        ag_jw_double(out, round((double)e->calls / seconds * 1e4) / 1e4);
        ag_buf_puts(out, ",\"error_rate\":");
        ag_jw_double(out, e->calls ? (double)e->errors / (double)e->calls : 0);
        ag_buf_putc(out, ',');
        put_percentile_values(out, e->p);
        ag_buf_putc(out, '}');
    }
    ag_buf_printf(out, "],\"unresolved\":%llu,\"truncated\":%s}", (unsigned long long)unresolved,
                  m->truncated ? "true" : "false");
}

static int api_servicemap(sqlite3 *db, const ag_params *q, ag_buf *out)
{
    range r;
    int status;
    if (parse_range(q, &r, out, &status)) return status;
    const char *env = ag_params_get(q, "env");
    if (env && !*env) env = NULL;
    if (env && strlen(env) > 200) return error(out, 400, "env must be at most 200 bytes");
    service_map m = {0};
    map_read_edges(db, &r, env, &m);
    map_read_nodes(db, &r, env == NULL, &m);
    put_map(out, &m, &r, map_unresolved(db, &r, env));
    for (size_t i = 0; i < m.edges_len; i++) free(m.edges[i].from), free(m.edges[i].to);
    for (size_t i = 0; i < m.nodes_len; i++) free(m.nodes[i].service);
    free(m.edges);
    free(m.nodes);
    return 200;
}

/* ---- routing ---- */

/* A 500 for a request whose reads failed, logged, and reported to the
 * store, which shows a damaged database in /info (store.h). */
static int answer_read_error(ag_store *store, sqlite3 *db, const char *path, ag_buf *out)
{
    fprintf(stderr, "ctrace-agent: %s: database read failed: %s\n", path, read_error);
    ag_store_note_read_error(store, read_error_code, read_error);
    char msg[400];
    snprintf(msg, sizeof msg,
             "database read failed (%s): the answer would be incomplete;"
             " see the agent's log",
             read_error);
    return error(out, 500, msg);
}

int ag_api_handle(ag_store *store, const char *path, const ag_params *q, ag_buf *out)
{
    static const char svc_prefix[] = "/api/v1/services/", res_suffix[] = "/resources";
    static const char trace_prefix[] = "/api/v1/traces/";
    sqlite3 *db = ag_store_reader(store);
    if (!db) return error(out, 500, "database unavailable");
    int status;
    size_t plen = strlen(path);
    read_error[0] = '\0';
    /* a read transaction so multi-statement answers see one snapshot */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) read_failed_db(db);
    if (!strcmp(path, "/api/v1/services")) status = api_services(db, q, out);
    else if (!strncmp(path, svc_prefix, sizeof svc_prefix - 1) &&
             plen > sizeof svc_prefix - 1 + sizeof res_suffix - 1 &&
             !strcmp(path + plen - (sizeof res_suffix - 1), res_suffix)) {
        char *service = ag_xstrndup(path + sizeof svc_prefix - 1,
                                    plen - (sizeof svc_prefix - 1) - (sizeof res_suffix - 1));
        status = api_resources(db, service, q, out);
        free(service);
    } else if (!strcmp(path, "/api/v1/latency")) status = api_latency(db, q, out);
    else if (!strcmp(path, "/api/v1/traces")) status = api_search(db, q, out);
    else if (!strncmp(path, trace_prefix, sizeof trace_prefix - 1))
        status = api_trace(db, path + sizeof trace_prefix - 1, out);
    else if (!strcmp(path, "/api/v1/tail")) status = api_tail(db, q, out);
    else if (!strcmp(path, "/api/v1/operations")) status = api_operations(db, q, out);
    else if (!strcmp(path, "/api/v1/servicemap")) status = api_servicemap(db, q, out);
    else status = error(out, 404, "no such endpoint");
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (read_error[0]) status = answer_read_error(store, db, path, out);
    ag_store_release(store, db);
    return status;
}
