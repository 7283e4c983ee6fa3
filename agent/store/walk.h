/* Walking the traces table newest first (start DESC, id DESC) over a time
 * range, for one service or for all, with no index on start alone.
 *
 * Why no such index: chunks arrive with starts spread over the last second
 * or more (a tracer flushes every second; a trace starts before it ends),
 * so each group commit put its new entries on dozens of leaves of an index
 * on start, a third of the WAL pages the commit wrote. The index on
 * (service, start), which searches by service need anyway, orders each
 * service's rows; all services in start order are the merge of one walk
 * down it per service, which SQLite cannot do by itself, so it is done
 * here with a heap. Services are listed by skipping through that index
 * (one probe per service), as are the rows older than a cutoff that
 * retention deletes. */
#ifndef AG_WALK_H
#define AG_WALK_H

#include "util.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ag_walk ag_walk;

typedef struct {
    const char *service;           /* NULL: every service */
    int64_t start_ns, end_ns;      /* rows with start_ns <= start < end_ns */
    bool after;                    /* only rows after (before, in time) the cursor: */
    int64_t after_start, after_id; /* start < after_start, or equal and id < after_id */
} ag_walk_range;

/* Opens a walk whose rows are "id, start, " followed by columns (an SQL
 * list of columns of traces). Returns NULL only when a statement cannot be
 * prepared (a damaged database), with SQLite's message in err; err must
 * outlive the walk, whose later statements may fail the same way. */
AG_MUST_CHECK ag_walk *ag_walk_open(sqlite3 *db, const char *columns, const ag_walk_range *range,
                                    char *err, size_t errlen);
/* The statement holding the next row (columns 0 and 1: id, start), or NULL
 * after the last, or when a statement could not be prepared (err is then
 * set). Valid until the next call. */
sqlite3_stmt *ag_walk_next(ag_walk *w);
/* Releases the walk; NULL is fine. */
void ag_walk_close(ag_walk *w);

/* Every service that has a row in traces, in order, as a NULL-terminated
 * array of strings; the caller frees each string and the array (aborts on
 * out-of-memory). NULL on an SQLite error (sqlite3_errmsg(db) says which):
 * a list cut short would pass for the whole one. */
char **ag_walk_services(sqlite3 *db);
void ag_walk_services_free(char **services);

#endif
