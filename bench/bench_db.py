"""Added cost of a traced query and of a traced cache command: ctrace vs
the real ddtrace, each against the same code untraced.

    python bench/bench_db.py [--quick] [--rounds N]

Starts a PostgreSQL and a Redis server on loopback (tests/integrations/
servers.py) and a counting trace agent, then runs bench/db_workloads.py in
child processes: untraced (.venv, nothing patched), ctrace (.venv,
``ddtrace.patch``) and ddtrace (.venv-ddtrace, ``ddtrace.patch``),
interleaved round-robin with the order rotating every round so machine
noise hits all alike. Per workload (sqlite3 ``cursor.execute("SELECT 1")``
in-process, psycopg2 ``cursor.execute("SELECT 1")`` to PostgreSQL, redis-py
``GET``), the median ns per call of each, the added cost (median traced
minus median untraced) and ctrace's added cost over ddtrace's. Target:
at most 1/10.
"""
import argparse
import datetime
import json
import os
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
RUNS = {  # name: (interpreter, mode, tracer whose environment it gets)
    "untraced": (os.path.join(ROOT, ".venv", "bin", "python"), "untraced", "none"),
    "ctrace": (os.path.join(ROOT, ".venv", "bin", "python"), "traced", "ctrace"),
    "ddtrace": (os.path.join(ROOT, ".venv-ddtrace", "bin", "python"), "traced", "ddtrace"),
}
OPS = [("sqlite3", "sqlite3 query, in-process"), ("postgres", "PostgreSQL query, loopback"),
       ("redis", "Redis GET, loopback")]
TARGET = 0.1


def run_child(name, args, agent_url):
    python, mode, system = RUNS[name]
    env = child_env(system, agent_url)
    if system == "none":
        env["DD_TRACE_ENABLED"] = "false"
    proc = subprocess.run([python, WORKLOAD_FILE, "--mode", mode] + args, capture_output=True,
                          text=True, env=env, timeout=600, cwd=BENCH)
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
    for name, (python, _, _) in RUNS.items():
        if not os.path.exists(python):
            raise SystemExit("%s: %s missing (make build peers)" % (name, os.path.relpath(python, ROOT)))

    names = list(RUNS)
    samples_by = {name: {op: [] for op, _ in OPS} for name in names}
    with servers.PostgresServer() as pg, servers.RedisServer() as cache, RecordingAgent(decode=False) as agent:
        args = ["--pg-dsn", pg.dsn, "--redis-port", str(cache.port),
                "--iterations", str(iterations), "--samples", str(samples)]
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                for op, values in run_child(name, args, agent.url).items():
                    samples_by[name][op].extend(values)
            print("round %d/%d done" % (r + 1, rounds), flush=True)

    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "rounds": rounds,
               "iterations": iterations, "samples_per_round": samples, "ops": {}}
    print()
    print("ns per call, median of %d interleaved rounds x %d samples x %d calls"
          % (rounds, samples, iterations))
    print("%-28s %10s %10s %10s %12s %12s %14s %s" % ("workload", "untraced", "ctrace", "ddtrace",
                                                      "ctrace +", "ddtrace +", "ctrace/ddtrace", ""))
    for op, label in OPS:
        summary = {name: summarize(samples_by[name][op]) for name in names}
        base = summary["untraced"]["median"]
        added = {name: summary[name]["median"] - base for name in ("ctrace", "ddtrace")}
        ratio = added["ctrace"] / added["ddtrace"] if added["ddtrace"] > 0 else float("nan")
        verdict = "PASS" if ratio <= TARGET else "FAIL"
        print("%-28s %10.0f %10.0f %10.0f %12.0f %12.0f %14.3f %s (target <= %.1f)" % (
            label, base, summary["ctrace"]["median"], summary["ddtrace"]["median"],
            added["ctrace"], added["ddtrace"], ratio, verdict, TARGET))
        results["ops"][op] = {"summary": summary, "added_ns": added, "ratio": ratio, "verdict": verdict}
    path = a.json or os.path.join(BENCH, "results", "db-%s.json" % datetime.date.today().isoformat())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("\nwritten to %s" % os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
