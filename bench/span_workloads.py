"""Span workloads, run in a child process by bench_spans.py.

    python span_workloads.py --system {ctrace,ddtrace,otel} timing [...]
    python span_workloads.py --system {ctrace,ddtrace,otel} memory [...]

Prints one JSON object on stdout.  Only the standard library and the system
under test are imported, so the same file runs in .venv (ctrace),
.venv-ddtrace (the real ddtrace) and .venv-otel (OpenTelemetry SDK).

Every loop is written the same way for every system (the tracer is a local
variable, the loop is `for _ in range(n)`), so the loop's own cost (~10-15 ns)
is in every figure including the floor.
"""

import argparse
import gc
import json
import os
import sys
import threading
import time

perf_counter_ns = time.perf_counter_ns

WORKLOADS = ("with", "wrap", "start_finish", "tags5", "nested10")
SPANS_PER_OP = {"with": 1, "wrap": 1, "start_finish": 1, "tags5": 1, "nested10": 10, "floor": 1}


# ---------------------------------------------------------------- systems

def setup_dd(system):
    import ddtrace
    from ddtrace import tracer

    is_ctrace = bool(getattr(ddtrace, "__ctrace__", False))
    if system == "ctrace" and not is_ctrace:
        raise SystemExit("ctrace: this ddtrace has no __ctrace__ (is it the real ddtrace?)")
    if system == "ddtrace" and is_ctrace:
        raise SystemExit("ddtrace: this is ctrace, not the real ddtrace")
    return tracer, getattr(ddtrace, "__version__", "?")


def setup_otel(memory=False):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor, SpanExporter, SpanExportResult)
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from opentelemetry.version import __version__

    class DiscardExporter(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

        def force_flush(self, timeout_millis=30000):
            return True

    if memory:
        # Keep every finished span queued: nothing exported, nothing dropped.
        big = 10_000_000
        bsp = BatchSpanProcessor(DiscardExporter(), max_queue_size=big,
                                 schedule_delay_millis=3_600_000,
                                 max_export_batch_size=big)
    else:
        bsp = BatchSpanProcessor(DiscardExporter())  # SDK defaults
    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(bsp)
    trace.set_tracer_provider(provider)
    return trace.get_tracer("bench"), __version__


# ---------------------------------------------------------------- workloads
# Each factory returns run(n) -> elapsed ns for n iterations.

def dd_workloads(tracer):
    def w_with(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            with t.trace("x"):
                pass
        return perf_counter_ns() - t0

    def w_wrap(n):
        @tracer.wrap()
        def wrapped():
            pass
        f = wrapped
        t0 = perf_counter_ns()
        for _ in range(n):
            f()
        return perf_counter_ns() - t0

    def w_start_finish(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            span = t.trace("x")
            span.finish()
        return perf_counter_ns() - t0

    def w_tags5(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            span = t.trace("x")
            span.set_tag("component", "bench")
            span.set_tag("http.status_code", 200)
            span.set_tag("http.method", "GET")
            span.set_tag("retry.count", 3)
            span.set_tag("peer.service", "db")
            span.finish()
        return perf_counter_ns() - t0

    def w_nested10(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            with t.trace("x"):
                with t.trace("x"):
                    with t.trace("x"):
                        with t.trace("x"):
                            with t.trace("x"):
                                with t.trace("x"):
                                    with t.trace("x"):
                                        with t.trace("x"):
                                            with t.trace("x"):
                                                with t.trace("x"):
                                                    pass
        return perf_counter_ns() - t0

    return {"with": w_with, "wrap": w_wrap, "start_finish": w_start_finish,
            "tags5": w_tags5, "nested10": w_nested10}


def otel_workloads(tracer):
    def w_with(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            with t.start_as_current_span("x"):
                pass
        return perf_counter_ns() - t0

    def w_wrap(n):
        @tracer.start_as_current_span("x")
        def wrapped():
            pass
        f = wrapped
        t0 = perf_counter_ns()
        for _ in range(n):
            f()
        return perf_counter_ns() - t0

    def w_start_finish(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            span = t.start_span("x")
            span.end()
        return perf_counter_ns() - t0

    def w_tags5(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            span = t.start_span("x")
            span.set_attribute("component", "bench")
            span.set_attribute("http.status_code", 200)
            span.set_attribute("http.method", "GET")
            span.set_attribute("retry.count", 3)
            span.set_attribute("peer.service", "db")
            span.end()
        return perf_counter_ns() - t0

    def w_nested10(n):
        t = tracer
        t0 = perf_counter_ns()
        for _ in range(n):
            with t.start_as_current_span("x"):
                with t.start_as_current_span("x"):
                    with t.start_as_current_span("x"):
                        with t.start_as_current_span("x"):
                            with t.start_as_current_span("x"):
                                with t.start_as_current_span("x"):
                                    with t.start_as_current_span("x"):
                                        with t.start_as_current_span("x"):
                                            with t.start_as_current_span("x"):
                                                with t.start_as_current_span("x"):
                                                    pass
        return perf_counter_ns() - t0

    return {"with": w_with, "wrap": w_wrap, "start_finish": w_start_finish,
            "tags5": w_tags5, "nested10": w_nested10}


def floor_workload(n):
    lock = threading.Lock()
    t0 = perf_counter_ns()
    for _ in range(n):
        with lock:
            pass
    return perf_counter_ns() - t0


# ---------------------------------------------------------------- timing

def calibrate(run, target_ns, n_min, n_max):
    """Warm up, then pick n so that one sample takes about target_ns."""
    n = 64
    while True:
        dt = run(n)
        if dt >= 5_000_000 or n >= n_max:
            break
        n *= 4
    per_op = max(dt / n, 1.0)
    return max(n_min, min(n_max, int(target_ns / per_op)))


def do_timing(args):
    if args.system == "otel":
        tracer, version = setup_otel()
        wl = otel_workloads(tracer)
    else:
        tracer, version = setup_dd(args.system)
        wl = dd_workloads(tracer)
    wl["floor"] = floor_workload
    names = [w for w in args.workloads.split(",") if w]
    target_ns = int(args.sample_ms * 1e6)

    out = {"system": args.system, "version": version, "pid": os.getpid(),
           "python": sys.version.split()[0], "n": {}, "samples": {}, "errors": {}}
    for name in names:
        try:
            out["n"][name] = calibrate(wl[name], target_ns, args.n_min, args.n_max)
            out["samples"][name] = []
        except Exception as e:  # a missing feature must not hide the others
            out["errors"][name] = "%s: %s" % (type(e).__name__, e)
    # Interleave workloads inside the process too: sample k of every workload
    # runs before sample k+1 of any.
    live = [w for w in names if w not in out["errors"]]
    for _ in range(args.samples):
        for name in live:
            if name in out["errors"]:
                continue
            try:
                n = out["n"][name]
                dt = wl[name](n)
                out["samples"][name].append(dt / (n * SPANS_PER_OP[name]))
            except Exception as e:
                out["errors"][name] = "%s: %s" % (type(e).__name__, e)
    out["writer"] = buffered_stats(args.system, tracer)
    print(json.dumps(out))


# ---------------------------------------------------------------- memory

def rss_bytes():
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def buffered_stats(system, tracer):
    """Best effort: what the writer holds, to show nothing was sent/dropped."""
    try:
        if system == "ddtrace":
            w = tracer._span_aggregator.writer
            return [{"traces": len(c.encoder), "bytes": c.encoder.size} for c in w._clients]
        if system == "ctrace":
            for name in ("_stats", "health_stats", "_health_stats", "stats"):
                f = getattr(tracer, name, None)
                if callable(f):
                    st = f()
                    return st if isinstance(st, dict) else repr(st)
        if system == "otel":
            from opentelemetry import trace
            bsp = trace.get_tracer_provider()._active_span_processor._span_processors[0]
            q = getattr(getattr(bsp, "_batch_processor", bsp), "_queue", None)
            return {"queued_spans": len(q)} if q is not None else None
    except Exception as e:
        return "n/a (%s)" % type(e).__name__
    return None


def do_memory(args):
    if args.system == "otel":
        tracer, version = setup_otel(memory=True)

        def make_traces(count):
            t = tracer
            for i in range(count):
                with t.start_as_current_span("root") as root:
                    root.set_attribute("bench.kind", "memory")
                    root.set_attribute("bench.i", i)
                    for j in range(9):
                        with t.start_as_current_span("child") as c:
                            c.set_attribute("bench.kind", "memory")
                            c.set_attribute("bench.i", j)
    else:
        tracer, version = setup_dd(args.system)

        def make_traces(count):
            t = tracer
            for i in range(count):
                with t.trace("root") as root:
                    root.set_tag("bench.kind", "memory")
                    root.set_tag("bench.i", i)
                    for j in range(9):
                        with t.trace("child") as c:
                            c.set_tag("bench.kind", "memory")
                            c.set_tag("bench.i", j)

    make_traces(200)          # warm up: lazy init, writer thread, code paths
    gc.collect()
    before = rss_bytes()
    traces = args.spans // 10
    t0 = perf_counter_ns()
    make_traces(traces)
    elapsed = perf_counter_ns() - t0
    gc.collect()
    after = rss_bytes()
    spans = traces * 10
    print(json.dumps({
        "system": args.system, "version": version, "pid": os.getpid(),
        "spans": spans, "buffered": buffered_stats(args.system, tracer), "rss_before": before, "rss_after": after,
        "bytes_per_span": (after - before) / spans,
        "ns_per_span": elapsed / spans,
    }))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--system", required=True, choices=("ctrace", "ddtrace", "otel"))
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("timing")
    t.add_argument("--workloads", default=",".join(WORKLOADS + ("floor",)))
    t.add_argument("--samples", type=int, default=5)
    t.add_argument("--sample-ms", type=float, default=50.0)
    t.add_argument("--n-min", type=int, default=1000)
    t.add_argument("--n-max", type=int, default=200_000)
    m = sub.add_parser("memory")
    m.add_argument("--spans", type=int, default=200_000)
    args = p.parse_args()
    do_timing(args) if args.mode == "timing" else do_memory(args)
    # Skip the tracers' exit-time flush (ddtrace waits ~3 s on a closed port):
    # it is not part of what is measured and would only slow the run down.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
