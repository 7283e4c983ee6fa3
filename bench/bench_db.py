"""Added cost of a traced query and of a traced cache command: ctrace vs
the real ddtrace, each against the same code untraced.

    python bench/bench_db.py [--quick] [--rounds N]

Starts a PostgreSQL and a Redis server on loopback (tests/integrations/
servers.py) and a counting trace agent, then runs bench/db_workloads.py in
child processes of ctrace (.venv) and of ddtrace (.venv-ddtrace), one after
the other, the order alternating every round. Each child times the same
call untraced and traced, alternating sample by sample, so the network's
and the machine's noise hits both alike (from one process to the next the
untraced time of a loopback round trip moves by more than ctrace's cost).
Per workload (sqlite3 ``cursor.execute("SELECT 1")`` in-process, psycopg2
``cursor.execute("SELECT 1")`` to PostgreSQL, redis-py ``GET``): the added
cost of each round (median traced minus median untraced of that child), its
median over the rounds, and ctrace's over ddtrace's, once in wall time and
once in the child's CPU time (all threads, so the tracer's writer thread
counts). Target: at most 1/10.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "integrations"))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from bench_spans import child_env, summarize  # noqa: E402
from recording_agent import RecordingAgent  # noqa: E402
import servers  # noqa: E402

WORKLOAD_FILE = os.path.join(BENCH, "db_workloads.py")
RUNS = {"ctrace": os.path.join(ROOT, ".venv", "bin", "python"),
        "ddtrace": os.path.join(ROOT, ".venv-ddtrace", "bin", "python")}
OPS = [("sqlite3", "sqlite3 query, in-process"), ("postgres", "PostgreSQL query, loopback"),
       ("redis", "Redis GET, loopback")]
TARGET = 0.1
#: (name, suffix of db_workloads.py's keys): wall time per call, and the
#: child's CPU time per call (all its threads), which a busy machine's
#: scheduling moves less than the wall time of a call that waits for a server
MEASURES = [("wall", ""), ("cpu", "_cpu")]


def run_child(name, args, agent_url):
    proc = subprocess.run([RUNS[name], WORKLOAD_FILE] + args, capture_output=True, text=True,
                          env=child_env(name, agent_url), timeout=600, cwd=BENCH)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit("%s failed (%d): %s" % (name, proc.returncode, proc.stderr[-2000:]))
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--json", help="where to write the results (default bench/results/db-<date>.json)")
    a = ap.parse_args()
    rounds = a.rounds or (3 if a.quick else 9)
    iterations, samples = (300, 3) if a.quick else (1000, 5)
    for name, python in RUNS.items():
        if not os.path.exists(python):
            raise SystemExit("%s: %s missing (make build peers)" % (name, os.path.relpath(python, ROOT)))

    names = list(RUNS)
    kinds = [kind + suffix for _, suffix in MEASURES for kind in ("untraced", "traced")]
    added = {m: {name: {op: [] for op, _ in OPS} for name in names} for m, _ in MEASURES}
    times = {name: {op: {kind: [] for kind in kinds} for op, _ in OPS} for name in names}
    with servers.PostgresServer() as pg, servers.RedisServer() as cache, RecordingAgent(decode=False) as agent:
        args = ["--pg-dsn", pg.dsn, "--redis-port", str(cache.port),
                "--iterations", str(iterations), "--samples", str(samples)]
        for r in range(rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                for op, got in run_child(name, args, agent.url).items():
                    for kind in kinds:
                        times[name][op][kind].extend(got[kind])
                    for measure, suffix in MEASURES:
                        added[measure][name][op].append(statistics.median(got["traced" + suffix])
                                                        - statistics.median(got["untraced" + suffix]))
            print("round %d/%d done" % (r + 1, rounds), flush=True)

    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "rounds": rounds,
               "iterations": iterations, "samples_per_round": samples, "ops": {}}
    for measure, suffix in MEASURES:
        print()
        print("%s ns per call, medians of %d rounds (each: %d alternating untraced/traced samples x %d calls)"
              % (measure, rounds, samples, iterations))
        print("%-28s %10s %10s %10s %10s %12s %12s %14s" % (
            "workload", "untraced", "ctrace", "untraced", "ddtrace", "ctrace +", "ddtrace +", "ctrace/ddtrace"))
        for op, label in OPS:
            med = {name: {kind: statistics.median(times[name][op][kind + suffix]) for kind in ("untraced", "traced")}
                   for name in names}
            cost = {name: statistics.median(added[measure][name][op]) for name in names}
            ratio = cost["ctrace"] / cost["ddtrace"] if cost["ddtrace"] > 0 else float("nan")
            verdict = "PASS" if ratio <= TARGET else "FAIL"
            print("%-28s %10.0f %10.0f %10.0f %10.0f %12.0f %12.0f %14.3f %s (target <= %.1f)" % (
                label, med["ctrace"]["untraced"], med["ctrace"]["traced"], med["ddtrace"]["untraced"],
                med["ddtrace"]["traced"], cost["ctrace"], cost["ddtrace"], ratio, verdict, TARGET))
            entry = results["ops"].setdefault(op, {})
            entry[measure] = {"medians": med, "added_ns": cost,
                              "added_per_round": {n: added[measure][n][op] for n in names},
                              "summary": {n: {k: summarize(times[n][op][k + suffix]) for k in ("untraced", "traced")}
                                          for n in names},
                              "ratio": ratio, "verdict": verdict}
    path = a.json or os.path.join(BENCH, "results", "db-%s.json" % datetime.date.today().isoformat())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("\nwritten to %s" % os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
