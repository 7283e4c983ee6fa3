"""Cost of a span, side by side: ctrace vs the real ddtrace vs OpenTelemetry.

Run with any Python 3 (normally .venv/bin/python):

    python bench/bench_spans.py [--quick] [--json PATH]

The parent process only orchestrates.  It launches child processes running
bench/span_workloads.py, one interpreter per system (each system lives in a
virtualenv of its own because ours is also called `ddtrace`):

    ctrace   .venv/bin/python           (our package; must define ddtrace.__ctrace__)
    ddtrace  .venv-ddtrace/bin/python   (latest ddtrace from PyPI)
    otel     .venv-otel/bin/python      (opentelemetry-sdk, ALWAYS_ON, BatchSpanProcessor
                                         with a discarding exporter)

Children are interleaved round-robin over several rounds (the order rotates
every round) so that machine noise hits all systems alike.  Each child runs
every workload plus the floor (`with threading.Lock():`) several times and
prints ns/span samples as JSON.  Then one child per system measures the
memory held per finished-but-unsent span.  Results: a table per workload on
stdout and bench/results/spans-<date>.json.
"""

import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
WORKLOAD_FILE = os.path.join(BENCH, "span_workloads.py")

SYSTEMS = {
    "ctrace": os.path.join(ROOT, ".venv", "bin", "python"),
    "ddtrace": os.path.join(ROOT, ".venv-ddtrace", "bin", "python"),
    "otel": os.path.join(ROOT, ".venv-otel", "bin", "python"),
}
PROBE = {
    "ctrace": "import ddtrace, os; os._exit(0 if getattr(ddtrace, '__ctrace__', False) else 3)",
    "ddtrace": "import ddtrace, os; os._exit(3 if getattr(ddtrace, '__ctrace__', False) else 0)",
    "otel": "import opentelemetry.sdk.trace",
}
WORKLOADS = [
    ("with", 'with tracer.trace("x"): pass'),
    ("wrap", "call of a @tracer.wrap() function"),
    ("start_finish", 'span = tracer.trace("x"); span.finish()'),
    ("tags5", "start + 5 x set_tag (3 str, 2 int) + finish"),
    ("nested10", '10 nested `with tracer.trace("x")`, per span'),
]
TARGETS = {"with": {"ddtrace/ctrace": (">=", 25.0), "ctrace/floor": ("<=", 3.0)}}
MEMORY_TARGET = 300.0  # bytes per buffered span, ctrace

# Keep ddtrace from doing work ctrace does not do (see README).
DD_QUIET = {
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_TRACE_DEBUG": "false",
}


def closed_port():
    """A local TCP port nothing listens on: connecting is refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def child_env(system, agent_url, memory=False):
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("DD_") or k.startswith("OTEL_"))}
    env.pop("PYTHONPATH", None)
    if system in ("ctrace", "ddtrace"):
        env.update(DD_QUIET)
        env["DD_TRACE_AGENT_URL"] = agent_url
        if memory:
            env["DD_TRACE_WRITER_INTERVAL_SECONDS"] = "3600"
            env["DD_TRACE_WRITER_BUFFER_SIZE_BYTES"] = "1000000000"
    else:
        env["OTEL_SDK_DISABLED"] = "false"
    return env


def probe(system):
    py = SYSTEMS[system]
    if not os.path.exists(py):
        return "not built" if system == "ctrace" else "no venv (%s)" % os.path.relpath(py, ROOT)
    r = subprocess.run([py, "-c", PROBE[system]], capture_output=True, text=True,
                       env=child_env(system, "http://127.0.0.1:9"), timeout=120)
    if r.returncode == 0:
        return None
    if system == "ctrace":
        return "not built"
    if r.returncode == 3:
        return "venv holds ctrace, not the real ddtrace"
    return "import failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]


def run_child(system, args, env, timeout):
    cmd = [SYSTEMS[system], WORKLOAD_FILE, "--system", system] + args
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=timeout, cwd=BENCH)
    except subprocess.TimeoutExpired:
        return None, "timeout after %ds" % timeout
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        return None, "exit %d: %s" % (r.returncode, tail[:200])
    return json.loads(lines[-1]), None


def quantile(xs, q):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(samples):
    if not samples:
        return None
    med = statistics.median(samples)
    return {"median": med, "p25": quantile(samples, 0.25), "p75": quantile(samples, 0.75),
            "min": min(samples), "max": max(samples), "count": len(samples),
            "spread_pct": 100.0 * (quantile(samples, 0.75) - quantile(samples, 0.25)) / 2 / med}


def fmt_ns(s):
    if s is None:
        return "-"
    m = s["median"]
    txt = "%.0f" % m if m < 10000 else "%.1fk" % (m / 1000)
    return "%s ±%.0f%%" % (txt, s["spread_pct"])


def fmt_ratio(a, b):
    if not a or not b:
        return "-"
    r = a["median"] / b["median"]
    return "%.1fx" % r if r < 100 else "%.0fx" % r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds and samples (~20 s)")
    ap.add_argument("--rounds", type=int, help="processes per system")
    ap.add_argument("--samples", type=int, help="samples per workload per process")
    ap.add_argument("--sample-ms", type=float, default=50.0)
    ap.add_argument("--memory-spans", type=int, help="default 200000 (50000 with --quick)")
    ap.add_argument("--systems", default="ctrace,ddtrace,otel")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--ctrace-python", help="interpreter for the ctrace column "
                    "(default .venv/bin/python; e.g. another build to compare)")
    ap.add_argument("--json", help="output path (default bench/results/spans-<date>.json)")
    a = ap.parse_args()
    if a.ctrace_python:
        SYSTEMS["ctrace"] = os.path.abspath(a.ctrace_python)
    rounds = a.rounds or (2 if a.quick else 5)
    samples = a.samples or (3 if a.quick else 7)
    mem_procs = 1 if a.quick else 2
    a.memory_spans = a.memory_spans or (50_000 if a.quick else 200_000)

    t_start = time.monotonic()
    systems = [s for s in a.systems.split(",") if s in SYSTEMS]
    status = {s: probe(s) for s in systems}
    live = [s for s in systems if status[s] is None]
    for s in systems:
        if status[s]:
            print("bench_spans: %s: %s" % (s, status[s]), file=sys.stderr)

    timing_args = ["timing", "--samples", str(samples), "--sample-ms", str(a.sample_ms)]
    raw = {s: [] for s in live}
    errors = {s: [] for s in systems}
    for rnd in range(rounds):
        order = live[rnd % len(live):] + live[:rnd % len(live)] if live else []
        for s in order:
            env = child_env(s, "http://127.0.0.1:%d" % closed_port())
            out, err = run_child(s, timing_args, env, timeout=120)
            if err:
                errors[s].append(err)
                print("bench_spans: %s round %d: %s" % (s, rnd, err), file=sys.stderr)
                continue
            raw[s].append(out)
            for w, e in out.get("errors", {}).items():
                if e not in errors[s]:
                    errors[s].append("%s: %s" % (w, e))

    memory = {s: [] for s in live}
    if not a.no_memory:
        for rep in range(mem_procs):
            for s in live:
                env = child_env(s, "http://127.0.0.1:%d" % closed_port(), memory=True)
                out, err = run_child(s, ["memory", "--spans", str(a.memory_spans)], env, timeout=180)
                if err:
                    errors[s].append("memory: " + err)
                    print("bench_spans: %s memory: %s" % (s, err), file=sys.stderr)
                else:
                    memory[s].append(out)

    # ---- aggregate: every sample of every process of a system, then median
    def pooled(s, w):
        return [x for out in raw.get(s, []) for x in out["samples"].get(w, [])]

    results = {}
    for w, _ in WORKLOADS:
        row = {s: summarize(pooled(s, w)) for s in systems}
        row["floor"] = summarize([x for s in live for x in pooled(s, "floor")])
        row["floor_by_system"] = {s: summarize(pooled(s, "floor")) for s in live}
        results[w] = row

    versions = {s: (raw[s][0]["version"] if raw.get(s) else None) for s in systems}
    print()
    print("Span cost, median ns/span (±half the interquartile range), %d process(es) x %d "
          "samples per system, interleaved; floor = `with threading.Lock():`" % (rounds, samples))
    print("versions: " + ", ".join("%s %s" % (s, versions[s] or status[s] or "failed")
                                   for s in systems))
    fl = results["with"]["floor_by_system"]
    print("floor measured in each system's processes: " +
          ", ".join("%s %s" % (s, fmt_ns(fl[s])) for s in live if fl.get(s)))
    verdicts = []
    for w, title in WORKLOADS:
        row = results[w]
        c, d, o = row.get("ctrace"), row.get("ddtrace"), row.get("otel")
        # ctrace/floor compares with the floor measured in the ctrace processes
        cfloor = row["floor_by_system"].get("ctrace")
        print()
        print("%s: %s" % (w, title))
        hdr = ("ctrace", "ddtrace", "otel", "floor", "ddtrace/ctrace", "otel/ctrace", "ctrace/floor")
        print("  " + "".join("%-16s" % h for h in hdr))
        cells = [fmt_ns(c) if c else (status.get("ctrace") or "failed"),
                 fmt_ns(d), fmt_ns(o), fmt_ns(row["floor"]),
                 fmt_ratio(d, c), fmt_ratio(o, c), fmt_ratio(c, cfloor)]
        print("  " + "".join("%-16s" % x for x in cells))
        for name, (op, goal) in TARGETS.get(w, {}).items():
            num, den = {"ddtrace/ctrace": (d, c), "ctrace/floor": (c, cfloor)}[name]
            if num and den:
                r = num["median"] / den["median"]
                ok = r >= goal if op == ">=" else r <= goal
                verdicts.append("%s %s: %.1fx (target %s %gx) %s"
                                % (w, name, r, op, goal, "PASS" if ok else "FAIL"))
            else:
                verdicts.append("%s %s: n/a (target %s %gx)" % (w, name, op, goal))

    mem_summary = {}
    print()
    print("Memory per finished-but-unsent span (%d spans in traces of 10, 2 tags each, "
          "no agent, nothing flushed; RSS delta after gc.collect())" % a.memory_spans)
    for s in systems:
        outs = memory.get(s) or []
        if not outs:
            print("  %-8s %s" % (s, status.get(s) or "failed"))
            continue
        bps = statistics.median(o["bytes_per_span"] for o in outs)
        nps = statistics.median(o["ns_per_span"] for o in outs)
        mem_summary[s] = {"bytes_per_span": bps, "ns_per_span_while_buffering": nps, "runs": outs}
        print("  %-8s %8.0f bytes/span   (%.0f ns/span to create)" % (s, bps, nps))
    if "ctrace" in mem_summary:
        bps = mem_summary["ctrace"]["bytes_per_span"]
        verdicts.append("memory ctrace: %.0f B/span (target <= %.0f) %s"
                        % (bps, MEMORY_TARGET, "PASS" if bps <= MEMORY_TARGET else "FAIL"))
    else:
        verdicts.append("memory ctrace: n/a (target <= %.0f B/span)" % MEMORY_TARGET)
    print()
    print("Targets:")
    for v in verdicts:
        print("  " + v)
    for s in systems:
        for e in errors[s]:
            print("  error %s: %s" % (s, e))

    now = datetime.datetime.now()
    path = a.json or os.path.join(BENCH, "results", "spans-%s.json" % now.strftime("%Y-%m-%d-%H%M%S"))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {
        "date": now.isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "config": {"rounds": rounds, "samples": samples, "sample_ms": a.sample_ms,
                   "memory_spans": a.memory_spans, "dd_env": DD_QUIET,
                   "agent": "closed local port (connection refused)"},
        "status": {s: status[s] or "ok" for s in systems},
        "versions": versions,
        "workloads": dict(WORKLOADS),
        "results": results,
        "memory": mem_summary,
        "verdicts": verdicts,
        "errors": errors,
        "raw": raw,
        "elapsed_s": round(time.monotonic() - t_start, 1),
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("\nJSON: %s  (%.0f s)" % (os.path.relpath(path, ROOT), time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
