"""Data-layer workloads, run in a child process by bench_db.py.

    python db_workloads.py --pg-dsn DSN --redis-port N --iterations N --samples N

Prints one JSON object on stdout: {op: {"untraced": [ns per call, ...],
"traced": [...], "untraced_cpu": [...], "traced_cpu": [...]}}: wall time
and the process's CPU time (all its threads: the tracer's writer thread
included) per call, the two alternating sample by sample in this one
process, so both see the same machine and the same server. Imports only
the standard library, the drivers and the ``ddtrace`` of its virtualenv,
so the same file runs in .venv (ctrace) and .venv-ddtrace (the real
ddtrace). Untraced clients are made before ``ddtrace.patch(...)`` (a Redis
command calls the unpatched ``execute_command``); traced ones after, but
the untraced PostgreSQL cursor is one of the traced connection's unwrapped
connection, so both talk to one server backend. Each
traced call is a trace of its own, as a query outside any request would be.
"""
import argparse
import json
import sqlite3
import time

import psycopg2
import redis

perf_counter_ns = time.perf_counter_ns
process_time_ns = time.process_time_ns
OPS = ("sqlite3", "postgres", "redis")


def clients(pg_dsn, redis_port):
    """{op: (untraced call, traced call)}."""
    import ddtrace
    raw_sqlite = sqlite3.connect(":memory:").cursor()
    raw_execute_command = redis.Redis.execute_command
    cache = redis.Redis(host="127.0.0.1", port=redis_port)
    cache.set("k", "v")
    ddtrace.patch(sqlite3=True, psycopg=True, redis=True)
    traced_sqlite = sqlite3.connect(":memory:").cursor()
    traced_connection = psycopg2.connect(pg_dsn)
    traced_pg = traced_connection.cursor()
    # the untraced cursor shares the traced one's connection (both tracers
    # wrap it in a wrapt proxy): one server backend for both, as two
    # backends' round trips differ by more than ctrace's cost
    raw_pg = traced_connection.__wrapped__.cursor()
    return {
        "sqlite3": (lambda: raw_sqlite.execute("SELECT 1"), lambda: traced_sqlite.execute("SELECT 1")),
        "postgres": (lambda: raw_pg.execute("SELECT 1"), lambda: traced_pg.execute("SELECT 1")),
        "redis": (lambda: raw_execute_command(cache, "GET", "k"), lambda: cache.execute_command("GET", "k")),
    }


def sample(call, iterations):
    """(wall ns, CPU ns) per call over ``iterations`` calls."""
    cpu, start = process_time_ns(), perf_counter_ns()
    for _ in range(iterations):
        call()
    wall = perf_counter_ns() - start
    return wall / iterations, (process_time_ns() - cpu) / iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-dsn", required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--samples", type=int, default=5)
    a = ap.parse_args()
    calls = clients(a.pg_dsn, a.redis_port)
    result = {}
    for op in OPS:
        untraced, traced = calls[op]
        sample(untraced, max(1, a.iterations // 5))       # warm-up
        sample(traced, max(1, a.iterations // 5))
        got = result[op] = {"untraced": [], "traced": [], "untraced_cpu": [], "traced_cpu": []}
        for _ in range(a.samples):
            for kind, call in (("untraced", untraced), ("traced", traced)):
                wall, cpu = sample(call, a.iterations)
                got[kind].append(wall)
                got[kind + "_cpu"].append(cpu)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
