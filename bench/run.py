"""Run every benchmark in bench/: each bench/bench_*.py in turn, span table last.

    .venv/bin/python bench/run.py [--quick] [--only NAME[,NAME]]

Each bench_*.py is a standalone script that prints its own table; run.py
passes --quick through, runs them one at a time (never in parallel: they
would disturb each other's timings) and ends with bench_spans.py so the span
table is the last thing on screen.  Exit status is 1 if a script failed
(crashed, or exited non-zero), 0 otherwise; missing targets do not fail
the run: the tables say PASS/FAIL.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
LAST = "bench_spans.py"


def main():
    ap = argparse.ArgumentParser(description="Run all ctrace benchmarks.")
    ap.add_argument("--quick", action="store_true",
                    help="short runs (whole suite in about a minute)")
    ap.add_argument("--only", help="comma-separated script names, e.g. spans,encoder")
    ap.add_argument("--timeout", type=int, default=900, help="per script, seconds")
    a = ap.parse_args()

    scripts = sorted(os.path.basename(p) for p in glob.glob(os.path.join(BENCH, "bench_*.py")))
    scripts = [s for s in scripts if s != LAST] + ([LAST] if LAST in scripts else [])
    if a.only:
        want = {w if w.startswith("bench_") else "bench_" + w for w in a.only.split(",")}
        want = {w if w.endswith(".py") else w + ".py" for w in want}
        scripts = [s for s in scripts if s in want]

    failed = []
    t0 = time.monotonic()
    for s in scripts:
        cmd = [sys.executable, os.path.join("bench", s)] + (["--quick"] if a.quick else [])
        print("=" * 78)
        print("== %s" % " ".join([os.path.relpath(cmd[0], ROOT) if cmd[0].startswith(ROOT)
                                  else cmd[0]] + cmd[1:]))
        print("=" * 78, flush=True)
        t = time.monotonic()
        try:
            rc = subprocess.run(cmd, cwd=ROOT, timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        print("-- %s: %s in %.0f s" % (s, "ok" if rc == 0 else "FAILED (%s)" % rc,
                                      time.monotonic() - t), flush=True)
        if rc != 0:
            failed.append(s)
    print("=" * 78)
    print("bench: %d script(s) in %.0f s%s" % (len(scripts), time.monotonic() - t0,
                                              "; failed: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
