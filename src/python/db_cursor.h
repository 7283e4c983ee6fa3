/*
 * db_cursor.h — a DB-API cursor's execute, executemany and callproc traced
 * in C.
 *
 * contrib/dbapi's TracedCursor is a wrapt ObjectProxy of the driver's
 * cursor (kept: it is what makes the traced cursor transparent). Its
 * query methods were Python functions: a query cost three Python frames
 * (execute, traced_call, start_span, finish_span) and a dozen attribute
 * lookups, more than the span itself. `ddtrace._ctrace.DbCursorMethod(
 * tracer, resolve, failed, method, tags, plain_resource_of, returns_proxy,
 * wrapped)` takes the Python method's place in the class: it binds like a
 * function (integration_span.h's ct_ext_method), and a call
 * `proxy.execute(query, *args, **kwargs)` does what dbapi.traced_call does:
 *
 * - reads the proxy's `__wrapped__` (the driver's cursor) and
 *   `_self_tracing` (dbapi.CursorTracing: config, name, the tags dict named
 *   by `tags`, dbm_injector, resource_of), and sets its last_query;
 * - starts a span `tracing.name` of type sql, child of the active one,
 *   with the integration's service (integration_span.h's cache, one per
 *   integration config met, `resolve` the Python resolver), resource the
 *   query (or resource_of(cursor, query), not called for a str when
 *   resource_of is in the set `plain_resource_of`, hooks that keep text
 *   as it is: psycopg's composed_text),
 *   the resolver's tags and the tracing's tags;
 * - calls the cursor's method `method` with the very arguments, its
 *   exception recorded and re-raised unchanged;
 * - tags db.row_count from cursor.rowcount when it is an int, finishes;
 * - returns the driver's result (the proxy when `returns_proxy`: sqlite3's
 *   execute returns its cursor).
 *
 * What is rare goes to `wrapped`, the Python method it replaces, with the
 * same arguments: the tracer disabled, DBM comment injection
 * (DD_DBM_PROPAGATION_MODE), no positional query, keywords the Python
 * method does not take (callproc: its TypeError), no tracing state, more
 * integration configs than DB_CONFIGS or arguments than DB_MAX_ARGS.
 *
 * Failure policy as RedisCommand's (contrib/_safety.py): an Exception of
 * the tracing before the span starts (the resource hook's, the resolver's)
 * is reported to `failed(integration name, exc_info)` and the query runs
 * untraced; one while tagging or reading rowcount is reported and the
 * span keeps what it got; a BaseException that is not an Exception
 * propagates, with the span finished. The driver's method is called
 * exactly once (unless such a BaseException came first), and what it
 * raises reaches the caller as it raised it, recorded on the span.
 *
 * One DbCursorMethod serves many cursors of many connections: it holds
 * no cursor, only the tracer, the callables it was made with and one
 * service cache per integration config met, all strong references it
 * traverses and clears (GC).
 */
#ifndef CT_DB_CURSOR_H
#define CT_DB_CURSOR_H

#include "ext.h"

/* Adds the DbCursorMethod type to the module. 0, or -1 with an exception. */
int ct_ext_db_cursor_init(PyObject *module);

#endif
