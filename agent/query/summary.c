/* The summary command (see summary.h). Reads the aggregate tables for RED
 * metrics (cheap at any size) and scans the traces table once for the
 * slowest ten; opens the database read-only so it can run next to the agent
 * without taking the write lock. */
#include "summary.h"
#include "buf.h"
#include "hist.h"
#include "store.h"
#include "util.h"

#include <getopt.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static void fmt_duration(char *out, size_t n, double ns)
{
    if (ns >= 1e9) snprintf(out, n, "%.2fs", ns / 1e9);
    else if (ns >= 1e6) snprintf(out, n, "%.1fms", ns / 1e6);
    else if (ns >= 1e3) snprintf(out, n, "%.1fus", ns / 1e3);
    else snprintf(out, n, "%.0fns", ns);
}

/* Writes text in exactly `width` terminal columns (width < 0: as wide as
 * it is): cut at a character boundary, padded with spaces. Columns are
 * counted with wcwidth, so accents take one and CJK characters two; bytes
 * that are not UTF-8 and control characters (a name could carry terminal
 * escapes) are written as '?'. Runs under the C.UTF-8 locale that
 * ag_summary_main selects for this thread. */
static void put_column(FILE *out, const char *text, int width)
{
    mbstate_t state;
    memset(&state, 0, sizeof state);
    int used = 0;
    size_t len = strlen(text);
    for (size_t off = 0; off < len;) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, text + off, len - off, &state);
        int cols = 1;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            memset(&state, 0, sizeof state);
            n = 1, wc = L'?';
        } else if ((cols = wcwidth(wc)) < 0) {
            wc = L'?', cols = 1;
        }
        if (width >= 0 && used + cols > width) break;
        if (wc == L'?' && text[off] != '?') fputc('?', out);
        else fwrite(text + off, 1, n, out);
        used += cols;
        off += n;
    }
    for (; used < width; used++) fputc(' ', out);
}

static void print_row(FILE *out, const char *indent, const char *label, int width, uint64_t hits,
                      uint64_t errors, const ag_hist *h)
{
    char p50[32], p95[32], p99[32];
    fmt_duration(p50, sizeof p50, (double)ag_hist_quantile(h, 0.5));
    fmt_duration(p95, sizeof p95, (double)ag_hist_quantile(h, 0.95));
    fmt_duration(p99, sizeof p99, (double)ag_hist_quantile(h, 0.99));
    fputs(indent, out);
    put_column(out, label, width);
    fprintf(out, " %10llu %7llu %6.1f%% %9s %9s %9s\n", (unsigned long long)hits,
            (unsigned long long)errors, hits ? 100.0 * (double)errors / (double)hits : 0.0, p50,
            p95, p99);
}

/* Prints the groups of a "SELECT key, hits, errors, hist ... ORDER BY key"
 * statement, largest first, at most limit of them. */
typedef struct {
    char *key;
    uint64_t hits, errors;
    ag_hist hist;
} row;

static int by_hits(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : strcmp(x->key, y->key);
}

static size_t fold(sqlite3_stmt *st, row **out)
{
    row *rows = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (!n || strcmp(rows[n - 1].key, key)) {
            rows = ag_xrealloc(rows, (n + 1) * sizeof *rows);
            memset(&rows[n], 0, sizeof rows[n]);
            rows[n++].key = ag_xstrdup(key ? key : "");
        }
        row *r = &rows[n - 1];
        r->hits += (uint64_t)sqlite3_column_int64(st, 1);
        r->errors += (uint64_t)sqlite3_column_int64(st, 2);
        if (ag_hist_decode_add(&r->hist, sqlite3_column_blob(st, 3),
                               (size_t)sqlite3_column_bytes(st, 3)))
            fprintf(stderr, "ctrace-agent summary: a damaged latency histogram of %s skipped\n",
                    r->key);
    }
    if (n) qsort(rows, n, sizeof *rows, by_hits);
    *out = rows;
    return n;
}

static void free_rows(row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) free(rows[i].key);
    free(rows);
}

static void print_services(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st, *rs;
    sqlite3_prepare_v2(db,
                       "SELECT service, hits, errors, hist FROM service_minutes ORDER BY service",
                       -1, &st, NULL);
    row *svc;
    size_t n = fold(st, &svc);
    sqlite3_finalize(st);
    fprintf(out, "\nServices (top-level spans)\n%-44s %10s %7s %7s %9s %9s %9s\n",
            "service / resource", "hits", "errors", "err%", "p50", "p95", "p99");
    if (!n) fprintf(out, "  (no data)\n");
    sqlite3_prepare_v2(db,
                       "SELECT resource, hits, errors, hist FROM resource_minutes"
                       " WHERE service = ? ORDER BY resource",
                       -1, &rs, NULL);
    for (size_t i = 0; i < n; i++) {
        print_row(out, "", svc[i].key, 44, svc[i].hits, svc[i].errors, &svc[i].hist);
        sqlite3_bind_text(rs, 1, svc[i].key, -1, SQLITE_STATIC);
        row *res;
        size_t m = fold(rs, &res);
        sqlite3_reset(rs);
        for (size_t k = 0; k < m && k < 10; k++)
            print_row(out, "  ", res[k].key, 42, res[k].hits, res[k].errors, &res[k].hist);
        if (m > 10) fprintf(out, "  ... and %zu more resources\n", m - 10);
        free_rows(res, m);
    }
    sqlite3_finalize(rs);
    free_rows(svc, n);
}

static void print_slowest(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT trace_id_high, trace_id, service, resource, duration, start,"
                       " span_count, error FROM traces ORDER BY duration DESC LIMIT 10",
                       -1, &st, NULL);
    fprintf(out, "\nSlowest traces\n%-32s  %-10s %-5s %-6s %-19s %s\n", "trace id", "duration",
            "spans", "error", "start (UTC)", "service / resource");
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char hi[17], lo[17], dur[32], when[32];
        ag_hex64((uint64_t)sqlite3_column_int64(st, 0), hi);
        ag_hex64((uint64_t)sqlite3_column_int64(st, 1), lo);
        fmt_duration(dur, sizeof dur, (double)sqlite3_column_int64(st, 4));
        time_t t = (time_t)(sqlite3_column_int64(st, 5) / 1000000000LL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(out, "%s%s  %-10s %-5d %-6s %-19s ", hi, lo, dur, sqlite3_column_int(st, 6),
                sqlite3_column_int(st, 7) ? "yes" : "no", when);
        put_column(out, (const char *)sqlite3_column_text(st, 2), -1);
        fputc(' ', out);
        put_column(out, (const char *)sqlite3_column_text(st, 3), -1);
        fputc('\n', out);
        n++;
    }
    if (!n) fprintf(out, "  (no traces)\n");
    sqlite3_finalize(st);
}

int ag_summary_main(int argc, char **argv, FILE *out)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    char *data = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'd') data = optarg;
        else if (opt == 'h') {
            fprintf(out, "usage: ctrace-agent summary [--data DIR]\n"
                         "Prints services, resources and the slowest traces stored in DIR\n"
                         "(default $XDG_DATA_HOME/ctrace or ~/.local/share/ctrace).\n");
            return 0;
        } else {
            fprintf(stderr, "ctrace-agent summary: unknown option (see --help)\n");
            return 2;
        }
    }
    char *dir = data ? ag_xstrdup(data) : ag_default_data_dir();
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/ctrace.db", dir);
    free(dir);
    if (access(path, R_OK)) {
        fprintf(stderr,
                "ctrace-agent summary: no database at %s (has the agent run with this --data?)\n",
                path);
        return 1;
    }
    sqlite3 *db = ag_store_connect(path, true, err, sizeof err);
    if (!db) {
        fprintf(stderr, "ctrace-agent summary: %s\n", err);
        return 1;
    }
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st;
    long long traces = 0, spans = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(span_count), 0) FROM traces", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "ctrace-agent summary: %s is not a ctrace database\n", path);
        sqlite3_close(db);
        return 1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        traces = sqlite3_column_int64(st, 0), spans = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    fprintf(out, "ctrace summary of %s: %lld chunks, %lld spans\n", path, traces, spans);
    /* names are UTF-8 whatever the user's locale: count columns in UTF-8 */
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t previous = utf8 ? uselocale(utf8) : (locale_t)0;
    print_services(db, out);
    print_slowest(db, out);
    if (utf8) {
        uselocale(previous);
        freelocale(utf8);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return 0;
}
