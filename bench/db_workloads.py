"""Data-layer workloads, run in a child process by bench_db.py.

    python db_workloads.py --mode {untraced,traced} --pg-dsn DSN --redis-port N \
        --iterations N --samples N

Prints one JSON object on stdout: {op: [ns per call, one per sample]}.
Imports only the standard library, the drivers and (when traced) the
``ddtrace`` of its virtualenv, so the same file runs in .venv (ctrace) and
.venv-ddtrace (the real ddtrace). Traced means ``ddtrace.patch(...)`` of the
three libraries; each call is a trace of its own, as a query outside any
request would be.
"""
import argparse
import json
import time

perf_counter_ns = time.perf_counter_ns
OPS = ("sqlite3", "postgres", "redis")


def clients(pg_dsn, redis_port):
    import sqlite3

    import psycopg2
    import redis
    sqlite_cursor = sqlite3.connect(":memory:").cursor()
    pg_cursor = psycopg2.connect(pg_dsn).cursor()
    cache = redis.Redis(host="127.0.0.1", port=redis_port)
    cache.set("k", "v")
    return {
        "sqlite3": lambda: sqlite_cursor.execute("SELECT 1"),
        "postgres": lambda: pg_cursor.execute("SELECT 1"),
        "redis": lambda: cache.get("k"),
    }


def sample(call, iterations):
    start = perf_counter_ns()
    for _ in range(iterations):
        call()
    return (perf_counter_ns() - start) / iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("untraced", "traced"), required=True)
    ap.add_argument("--pg-dsn", required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--samples", type=int, default=5)
    a = ap.parse_args()
    if a.mode == "traced":
        import ddtrace
        ddtrace.patch(sqlite3=True, psycopg=True, redis=True)
    calls = clients(a.pg_dsn, a.redis_port)
    result = {}
    for op in OPS:
        sample(calls[op], max(1, a.iterations // 5))       # warm-up
        result[op] = [sample(calls[op], a.iterations) for _ in range(a.samples)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
