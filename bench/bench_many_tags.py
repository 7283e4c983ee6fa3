"""The cost of one set_tag on a span that already has many tags.

    python bench/bench_many_tags.py [--quick] [--ctrace-python PY]

A span is given distinct tags up to each count in turn; the figure is the
time of the last 1,000 set_tag calls before that count, per call, median of
a few spans (a child process per system, as bench_spans.py does). A map with
constant-time sets does constant work at every count (tests/c counts the
probes); the time still grows some with cache misses, for ddtrace's dict
too. ctrace's tags were linear arrays until the index of src/core/tags.c:
714 us per call at 100,000 tags.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_spans import SYSTEMS, child_env, closed_port  # noqa: E402

CHILD = r'''
import json, sys, time
from ddtrace import tracer
counts = [int(c) for c in sys.argv[1].split(",")]
repeats = int(sys.argv[2])
keys = ["tag.%d" % i for i in range(max(counts))]
result = {}
for count in counts:
    samples = []
    for _ in range(repeats):
        span = tracer.trace("many")
        set_tag = span.set_tag
        for key in keys[:count - 1000]:
            set_tag(key, "v")
        t0 = time.perf_counter_ns()
        for key in keys[count - 1000:count]:
            set_tag(key, "v")
        samples.append((time.perf_counter_ns() - t0) / 1000)
        span.finish()
    result[count] = sorted(samples)[len(samples) // 2]
print(json.dumps(result))
import os; os._exit(0)
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="counts up to 10,000, one span each")
    ap.add_argument("--ctrace-python", help="interpreter for the ctrace column")
    a = ap.parse_args()
    counts = [1000, 10_000] if a.quick else [1000, 10_000, 100_000]
    repeats = 1 if a.quick else 3
    systems = dict(SYSTEMS)
    if a.ctrace_python:
        systems["ctrace"] = a.ctrace_python
    url = "http://127.0.0.1:%d" % closed_port()
    rows = {}
    for system in ("ctrace", "ddtrace"):
        py = systems[system]
        if not os.path.exists(py):
            rows[system] = "no venv"
            continue
        r = subprocess.run([py, "-c", CHILD, ",".join(map(str, counts)), str(repeats)],
                           capture_output=True, text=True, env=child_env(system, url),
                           timeout=1800)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        rows[system] = json.loads(lines[-1]) if lines else "failed: %s" % r.stderr[-200:]
    print("\nset_tag on a span that has N tags already: ns per call (last 1,000 calls, "
          "median of %d spans)" % repeats)
    print("  %-10s" % "N" + "".join("%12s" % "{:,}".format(c) for c in counts))
    for system, row in rows.items():
        if isinstance(row, str):
            print("  %-10s %s" % (system, row))
        else:
            print("  %-10s" % system + "".join("%12.0f" % row[str(c)] for c in counts))
    ctrace = rows.get("ctrace")
    if isinstance(ctrace, dict):
        growth = ctrace[str(counts[-1])] / ctrace[str(counts[0])]
        # a per-call cost linear in the tag count grows with it (100x from
        # 1,000 to 100,000); cache misses in a 100,000-entry map cost some
        # growth to any map (ddtrace's dict shows it too)
        linear = counts[-1] / counts[0]
        print("  ctrace at %s tags / at %s: %.1fx (target: well under the %.0fx of a "
              "linear cost, < %.0fx) %s"
              % ("{:,}".format(counts[-1]), "{:,}".format(counts[0]), growth, linear,
                 linear / 5, "PASS" if growth < linear / 5 else "FAIL"))


if __name__ == "__main__":
    main()
