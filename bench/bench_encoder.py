"""Delivery benchmark: encoding throughput and the application-side cost of a
span with each writer. Prints two tables.

1. Encoding, spans/s (median and best of 15 runs, one core): ctrace's v0.5
   and v0.4 encoders (bench/encoder_bench.c) against ddtrace's
   MsgpackEncoderV05/V04 (in .venv-ddtrace) on equivalent traces of 10
   spans. Target: >= 5 M/s, judged on the best run.
2. Application cost, ns per span (3 interleaved rounds, each 9 runs of
   20,000 traces of two spans in a fresh interpreter per configuration) with the in-memory writer, the real writer
   against a healthy local agent (one that reads and answers without
   decoding, so it takes little CPU from the 2 cores), with the agent absent,
   and with an agent that sleeps instead of answering. The application
   thread never waits on the network: each must stay within 10% of the
   in-memory figure. The judgement uses the fastest run (the cost without
   interference from other processes; medians are printed too, and are
   noisy on a shared 2-core machine).

Usage: .venv/bin/python bench/bench_encoder.py [--quick]
"""
import json
import os
import socket
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from recording_agent import RecordingAgent  # noqa: E402

DDTRACE_PYTHON = os.path.join(ROOT, ".venv-ddtrace", "bin", "python")
QUICK = "--quick" in sys.argv

# -- 1. encoding ---------------------------------------------------------------


def encoder_bench_binary() -> str:
    """The program meson builds with the package (`make build`)."""
    built = os.path.join(ROOT, "build", "py", "bench", "encoder_bench")
    if not os.path.exists(built):
        raise SystemExit("%s is missing: run `make build` first" % built)
    return built


def ctrace_encoding() -> dict:
    reps = "50" if QUICK else "200"
    out = subprocess.run([encoder_bench_binary(), "100", reps], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[0]: (float(line.split()[1]), float(line.split()[3]))
            for line in out.splitlines()}


DDTRACE_ENCODING = r'''
import json, statistics, sys, time
from ddtrace.trace import tracer
from ddtrace.internal._encoding import MsgpackEncoderV04, MsgpackEncoderV05
reps = int(sys.argv[1])
traces = []
for t in range(100):
    spans = []
    with tracer.trace("web.request", service="bench-service", resource="resource-0", span_type="web") as root:
        root.set_tag("component", "custom"); root.set_tag("http.method", "GET"); root.set_metric("rows", 0)
        spans.append(root)
        for i in range(1, 10):
            s = tracer.trace("child.operation", resource="resource-%d" % i)
            s.set_tag("component", "custom"); s.set_tag("http.method", "GET"); s.set_metric("rows", i)
            s.finish(); spans.append(s)
    traces.append(spans)
result = {}
for name, cls in (("v05", MsgpackEncoderV05), ("v04", MsgpackEncoderV04)):
    rates = []
    for run in range(15):
        start = time.perf_counter()
        for _ in range(reps):
            enc = cls(64 << 20, 64 << 20)
            for trace in traces:
                enc.put(trace)
            enc.encode()
        rates.append(1000 * reps / (time.perf_counter() - start))
    result[name] = (statistics.median(rates), max(rates))
print(json.dumps(result))
'''


def ddtrace_encoding() -> dict:
    if not os.path.exists(DDTRACE_PYTHON):
        return {}
    env = dict(os.environ, DD_TRACE_ENABLED="false", DD_INSTRUMENTATION_TELEMETRY_ENABLED="false")
    out = subprocess.run([DDTRACE_PYTHON, "-c", DDTRACE_ENCODING, "3" if QUICK else "10"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- 2. application cost ------------------------------------------------------------

APP_COST = r'''
import gc, json, sys, time
from ddtrace import tracer
n = int(sys.argv[1])
costs = []
for run in range(9):
    gc.collect()
    start = time.perf_counter_ns()
    for i in range(n):
        with tracer.trace("web.request", resource="GET /"):
            with tracer.trace("db.query"):
                pass
    costs.append((time.perf_counter_ns() - start) / (2 * n))
    time.sleep(0.05)  # lets the writer run its round between runs
import statistics
print(json.dumps({"ns": min(costs), "median": statistics.median(costs),
                  "stats": tracer._stats()}))
'''


def app_cost(env: dict) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    full.update({"DD_TRACE_WRITER_BUFFER_SIZE_BYTES": str(512 << 20),
                 "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.1"})
    full.update(env)
    out = subprocess.run([sys.executable, "-c", APP_COST, "5000" if QUICK else "20000"],
                         capture_output=True, text=True, env=full, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_cost_once(name: str) -> dict:
    if name == "in-memory writer":
        return app_cost({"_CT_IN_MEMORY_WRITER": "1"})
    if name == "agent writer, agent absent":
        return app_cost({"DD_TRACE_AGENT_URL": "http://127.0.0.1:%d" % free_port()})
    with RecordingAgent(decode=False) as agent:
        if name == "agent writer, agent sleeping":
            agent.delay = 30.0
            return app_cost({"DD_TRACE_AGENT_URL": agent.url,
                             "DD_TRACE_AGENT_TIMEOUT_SECONDS": "1"})
        return app_cost({"DD_TRACE_AGENT_URL": agent.url})


APP_CONFIGS = ("in-memory writer", "agent writer, healthy agent",
               "agent writer, agent absent", "agent writer, agent sleeping")


def app_costs() -> list:
    """Configurations interleaved round by round, so that a busy phase of
    the machine hits all of them; each keeps its best round."""
    best = {}
    for _ in range(1 if QUICK else 3):
        for name in APP_CONFIGS:
            row = app_cost_once(name)
            if name not in best or row["ns"] < best[name]["ns"]:
                best[name] = row
    return [(name, best[name]) for name in APP_CONFIGS]


def main() -> int:
    ours = ctrace_encoding()
    theirs = ddtrace_encoding()
    print("Encoding throughput, traces of 10 spans (15 runs: median / best)")
    print("%-26s %22s %22s %8s" % ("encoder", "ctrace span/s", "ddtrace span/s", "ratio"))
    for version in ("v05", "v04"):
        mine, real = ours[version], theirs.get(version)
        print("%-26s %10.0f /%10.0f %22s %8s" % (
            version, mine[0], mine[1],
            "%10.0f /%10.0f" % tuple(real) if real else "n/a",
            "%.1fx" % (mine[0] / real[0]) if real else ""))
    print("%-26s %10.0f /%10.0f" % ("v04 with msgpack-c packer", *ours["v04_msgpackc"]))
    target_ok = min(ours["v05"][1], ours["v04"][1]) >= 5e6
    print("target >= 5,000,000 spans/s per core (best run): %s\n"
          % ("met" if target_ok else "NOT met"))

    rows = app_costs()
    base = rows[0][1]["ns"]
    print("Application cost per span (best of 3 interleaved rounds of 9 runs; median of that round)")
    print("%-30s %8s %8s %8s %10s %10s" % ("writer", "min ns", "vs mem", "median", "sent",
                                          "dropped"))
    within = True
    for name, row in rows:
        ratio = row["ns"] / base
        within &= ratio <= 1.10
        print("%-30s %8.0f %7.0f%% %8.0f %10d %10d" % (name, row["ns"], 100 * (ratio - 1),
                                                 row["median"], row["stats"]["spans_sent"],
                                                 row["stats"]["spans_dropped"]))
    print("within 10%% of the in-memory writer: %s" % ("yes" if within else "NO"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
