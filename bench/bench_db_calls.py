"""Python calls and CPU instructions a tracer adds to one cache command or
query, in process, against real servers on loopback.

    .venv/bin/python bench/bench_db_calls.py [--no-callgrind]
        [--workloads redis_get,memcached_get,sqlite3_select,psycopg2_select]
        [--python .venv-ddtrace/bin/python] [--profile redis_get] [--cache]

Wall clock on a shared machine moves by more than ctrace's whole cost of
a Redis command (a loopback round trip is ~90 µs, ctrace's part a few);
these two counts do not, so they show what a change to an integration's
Python saves:

- calls: cProfile's count of Python (and C) function calls per command,
  traced (``ddtrace.patch(...)`` before the client is made) minus the same
  command untraced, over 500 commands after a warm-up;
- instructions: valgrind callgrind's total instructions of a child making
  ``N2`` commands minus one making ``N1`` (start-up cancels), divided by
  ``N2 - N1``, traced minus untraced. Callgrind counts user-space
  instructions only, so the server's time and the wait on the socket are
  not in it; the client library's own work cancels in the difference.

``--profile WORKLOAD`` prints cProfile's top functions of the traced
command instead (what to cut next). The tracer sends to a closed port with
a writer interval of an hour, so the figure is the command path only
(spans are still finished and buffered).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ("redis_get", "memcached_get", "sqlite3_select", "psycopg2_select")
DELIVERY = {
    "DD_TRACE_AGENT_URL": "http://127.0.0.1:9",
    "DD_TRACE_WRITER_INTERVAL_SECONDS": "3600",
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_TRACE_DEBUG": "false",
}


# ---- child side -------------------------------------------------------

def _caller(workload, traced):
    """The command, with a client made after ``ddtrace.patch`` when traced."""
    if traced:
        import ddtrace
        ddtrace.patch(redis=True, pymemcache=True, sqlite3=True, psycopg=True)
    if workload == "redis_get":
        import redis
        client = redis.Redis(host="127.0.0.1", port=int(os.environ["BENCH_REDIS_PORT"]))
        client.set("k", "v")
        return lambda: client.get("k")
    if workload == "memcached_get":
        from pymemcache.client.base import Client
        client = Client(("127.0.0.1", int(os.environ["BENCH_MEMCACHED_PORT"])))
        client.set("k", "v")
        return lambda: client.get("k")
    if workload == "sqlite3_select":
        import sqlite3
        cursor = sqlite3.connect(":memory:").cursor()
        return lambda: cursor.execute("SELECT 1")
    if workload == "psycopg2_select":
        import psycopg2
        cursor = psycopg2.connect(os.environ["BENCH_PG_DSN"]).cursor()
        return lambda: cursor.execute("SELECT 1")
    raise SystemExit("unknown workload %s" % workload)


def child(workload, traced, mode, commands):
    call = _caller(workload, traced)
    for _ in range(50):  # warm-up: caches, lazy imports
        call()
    if mode in ("profile", "top"):
        import cProfile
        import pstats
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(commands):
            call()
        profile.disable()
        stats = pstats.Stats(profile)
        if mode == "top":
            stats.sort_stats("tottime").print_stats(25)
        total = sum(row[1] for row in stats.stats.values())
        print("calls %d" % total)
    else:
        for _ in range(commands):
            call()
    sys.stdout.flush()
    os._exit(0)


# ---- parent side ------------------------------------------------------

def child_env(ports):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    env.update(DELIVERY)
    env.update(ports)
    return env


#: callgrind's cache simulation: the events it counts (named by its
#: ``events:`` line, in the order of its totals)
CACHE_EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")


def run_child(python, env, workload, traced, mode, commands, callgrind=False, cache=False):
    """cProfile's call count, callgrind's instruction count, or (``cache``)
    {event: count} of callgrind's simulated caches, for one child."""
    argv = [python, os.path.abspath(__file__), "--child", workload, "--mode", mode,
            "--commands", str(commands)] + (["--traced"] if traced else [])
    if not callgrind:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
        if mode == "top":
            print(out)
        return int(re.search(r"calls (\d+)", out).group(1))
    with tempfile.TemporaryDirectory() as tmp:
        outfile = os.path.join(tmp, "cg.out")
        sim = ["--cache-sim=yes"] if cache else []
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile] + sim + argv,
                       env=env, capture_output=True, text=True, check=True)
        events = ["Ir"]
        with open(outfile) as f:
            for line in f:
                if line.startswith("events:"):
                    events = line.split()[1:]
                if line.startswith("totals:") or line.startswith("summary:"):
                    counts = dict(zip(events, (int(n) for n in line.split()[1:])))
                    return counts if cache else counts["Ir"]
    raise RuntimeError("callgrind wrote no totals")


def added_per_command(python, env, workload, callgrind, n1, n2):
    """What tracing adds to one command: the count of a child making ``n2``
    commands minus one making ``n1`` (start-up cancels), per command, traced
    minus untraced."""
    mode = "loop" if callgrind else "profile"
    per = {}
    for traced in (True, False):
        low = run_child(python, env, workload, traced, mode, n1, callgrind=callgrind) if n1 else 0
        per[traced] = (run_child(python, env, workload, traced, mode, n2, callgrind=callgrind) - low) / (n2 - n1)
    return per[True] - per[False]


def added_cache_misses(python, env, workload, n1, n2):
    """As added_per_command, for each of callgrind's simulated cache events
    (its default: the host's L1 and last-level cache sizes)."""
    per = {}
    for traced in (True, False):
        low = run_child(python, env, workload, traced, "loop", n1, callgrind=True, cache=True)
        high = run_child(python, env, workload, traced, "loop", n2, callgrind=True, cache=True)
        per[traced] = {e: (high[e] - low[e]) / (n2 - n1) for e in CACHE_EVENTS}
    return {e: per[True][e] - per[False][e] for e in CACHE_EVENTS}


def print_cache_misses(args, env):
    """What tracing adds per command to the instruction and data cache
    misses: after a blocking round trip a tracer's code and data are the
    coldest in the process, so misses (not only instructions) set its time."""
    print("| workload | instructions | I1 misses | D1 misses (read + write) | last-level misses |")
    print("|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        d = added_cache_misses(args.python, env, workload, 100, 600)
        print("| %s | %.1f k | %.0f | %.0f | %.0f |" % (
            workload, d["Ir"] / 1000, d["I1mr"], d["D1mr"] + d["D1mw"], d["ILmr"] + d["DLmr"] + d["DLmw"]),
            flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--profile", help="print the traced command's top functions")
    parser.add_argument("--cache", action="store_true",
                        help="instead: the simulated L1 / last-level cache misses tracing adds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="profile", help=argparse.SUPPRESS)
    parser.add_argument("--commands", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.traced, args.mode, args.commands)
    sys.path.insert(0, os.path.join(ROOT, "tests", "integrations"))
    import servers
    with servers.RedisServer() as cache, servers.MemcachedServer() as memcached, \
            servers.PostgresServer() as pg:
        env = child_env({"BENCH_REDIS_PORT": str(cache.port), "BENCH_MEMCACHED_PORT": str(memcached.port),
                         "BENCH_PG_DSN": pg.dsn})
        if args.profile:
            run_child(args.python, env, args.profile, True, "top", 2000)
            return 0
        if args.cache:
            print_cache_misses(args, env)
            return 0
        print("| workload | Python calls / command | instructions / command |")
        print("|---|---|---|")
        for workload in args.workloads.split(","):
            # cProfile counts only the profiled loop: no start-up to cancel
            calls = added_per_command(args.python, env, workload, False, 0, 500)
            instructions = ("-" if args.no_callgrind else
                            "%.1f k" % (added_per_command(args.python, env, workload, True, 100, 600) / 1000))
            print("| %s | %.0f | %s |" % (workload, calls, instructions), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
