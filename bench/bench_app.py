"""Tracing CPU cost per request of a real web app: a Flask app under
gunicorn (one sync worker) and a FastAPI app under uvicorn (one process).

    .venv/bin/python bench/bench_app.py [--quick] [--apps flask,fastapi]
                                         [--rounds N] [--requests N]

Systems, each its own server process on loopback, all up at once:

| system | interpreter | how |
|---|---|---|
| baseline | .venv | the app with no tracer at all |
| ctrace | .venv | `ddtrace-run` (ctrace's integrations) |
| ddtrace | .venv-ddtrace | real ddtrace's `ddtrace-run` |
| otel-sdk | .venv-otel | opentelemetry-instrumentation-flask/-fastapi, SDK TracerProvider, BatchSpanProcessor, an exporter that discards |
| ctrace-otel | .venv | the same OTel instrumentation through `ddtrace.opentelemetry.TracerProvider` |

Routes: ``/hello`` (the framework's spans only) and ``/users/7`` (plus one
manual span, ``tracer.trace`` or an OTel span). ctrace and ddtrace send to a
recording agent each (default writer interval), so encoding and delivery are
in the cost; the span trees they record for one request of each route are
compared (names, resources, types, nesting) and printed with the table.

Method: the worker's CPU time (sum of its threads' ``schedstat`` run time,
ns) is read before and after a batch of sequential requests, one new
connection each (gunicorn's sync worker closes them anyway); CPU per
request = delta / requests. Each round runs one batch per (system, route),
the system order rotating from round to round so noise hits all alike. The
tracing cost of a system in a round is its CPU per request minus the
baseline's in the same round; the figure is the median over rounds (±
half the interquartile range). The client's own CPU is not counted.

Targets, so that tracing a web app costs what a native tracer costs:
ctrace's cost at most 1/10 of ddtrace's for the same spans, and below the
OTel SDK's.
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integrations"))
from differential import RecordingAgent, free_port, stop_process_group  # noqa: E402

VENVS = {"ctrace": ".venv", "ddtrace": ".venv-ddtrace", "otel": ".venv-otel"}
#: system -> (venv, under ddtrace-run, BENCH_TRACING of bench/apps)
SYSTEMS = {
    "baseline": ("ctrace", False, "none"),
    "ctrace": ("ctrace", True, "ddtrace"),
    "ddtrace": ("ddtrace", True, "ddtrace"),
    "otel-sdk": ("otel", False, "otel-sdk"),
    "ctrace-otel": ("ctrace", False, "otel-ctrace"),
}
ROUTES = ("/hello", "/users/7")
TRACED = ("ctrace", "ddtrace")  # the systems whose spans the agent sees

QUIET = {
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_TRACE_DEBUG": "false",
    "DD_SERVICE": "bench-app",
    "DD_ENV": "bench",
}


def app_argv(app, venv_bin, port):
    if app == "flask":
        return [os.path.join(venv_bin, "gunicorn"), "-w", "1", "-b", "127.0.0.1:%d" % port,
                "--log-level", "warning", "bench_flask:app"]
    return [os.path.join(venv_bin, "uvicorn"), "--port", str(port), "--log-level", "warning",
            "--no-access-log", "bench_fastapi:app"]


class AppServer:
    """One system's server: started, its worker found, stopped."""

    def __init__(self, app, system):
        self.app, self.system = app, system
        venv, self.ddtrace_run, tracing = SYSTEMS[system]
        self.venv_bin = os.path.join(ROOT, VENVS[venv], "bin")
        self.port = free_port()
        self.agent = RecordingAgent()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "_CT_"))}
        self.env.update(QUIET, BENCH_TRACING=tracing, PYTHONPATH=os.path.join(HERE, "apps"))
        self.proc = None
        self.worker = None

    def start(self):
        self.agent.start()
        self.env["DD_TRACE_AGENT_URL"] = self.agent.url
        argv = app_argv(self.app, self.venv_bin, self.port)
        if self.ddtrace_run:
            argv.insert(0, os.path.join(self.venv_bin, "ddtrace-run"))
        self.proc = subprocess.Popen(argv, env=self.env, cwd=os.path.join(HERE, "apps"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s %s exited: %s" % (self.app, self.system,
                                                       self.proc.stderr.read().decode()[-2000:]))
            try:
                request(self.port, "/hello")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("%s %s did not answer" % (self.app, self.system))
        self.worker = self._worker_pid()

    def _worker_pid(self):
        """gunicorn serves from a forked worker; uvicorn from itself."""
        if self.app != "flask":
            return self.proc.pid
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            children = [int(p) for p in f.read().split()]
        if len(children) != 1:
            raise SystemExit("gunicorn has %d workers, expected 1" % len(children))
        return children[0]

    def cpu_ns(self):
        """The worker's CPU time so far, all its threads (ns)."""
        total = 0
        task_dir = "/proc/%d/task" % self.worker
        for tid in os.listdir(task_dir):
            try:
                with open("%s/%s/schedstat" % (task_dir, tid)) as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass  # a thread that ended meanwhile
        return total

    def stop(self):
        if self.proc is not None:
            stop_process_group(self.proc)
        self.agent.stop()


def request(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise SystemExit("GET %s answered %d" % (path, reply.status))
    finally:
        conn.close()


def batch_cpu_per_request(server, path, count):
    before = server.cpu_ns()
    for _ in range(count):
        request(server.port, path)
    return (server.cpu_ns() - before) / count


# -- span trees ------------------------------------------------------------------
def tree_shape(trace):
    """(name, resource, type) of each span, nested under its parent."""
    by_parent = {}
    ids = {s["span_id"] for s in trace}
    for span in sorted(trace, key=lambda s: s["start"]):
        parent = span["parent_id"] if span["parent_id"] in ids else None
        by_parent.setdefault(parent, []).append(span)

    def shape(span):
        return (span["name"], span["resource"], span.get("type") or "",
                tuple(shape(c) for c in by_parent.get(span["span_id"], ())))
    return tuple(shape(root) for root in by_parent.get(None, ()))


def recorded_trees(servers, app):
    """For each traced system, route -> the tree of one request."""
    trees = {}
    for system in TRACED:
        server = servers[system]
        trees[system] = {}
        for path in ROUTES:
            seen = _settled_trace_count(server.agent)
            request(server.port, path)
            deadline = time.monotonic() + 10
            while len(server.agent.traces()) == seen and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)  # a trace's other chunks
            traces = server.agent.traces()[seen:]
            trees[system][path] = tree_shape([s for t in traces for s in t])
        server.agent.decode = False  # from now on the agent only counts bytes
    return trees


def _settled_trace_count(agent):
    """How many traces the agent holds once the writer's flushes stop
    bringing more (the warm-up's, the previous route's)."""
    count = len(agent.traces())
    while True:
        time.sleep(1.2)  # longer than the writers' 1 s interval
        now = len(agent.traces())
        if now == count:
            return count
        count = now


def span_count(shape):
    return sum(1 + span_count(children) for *_, children in shape)


# -- the run -----------------------------------------------------------------------
def measure(app, rounds, count, warmup):
    servers = {}
    try:
        for system in SYSTEMS:
            servers[system] = AppServer(app, system)
            servers[system].start()
        for server in servers.values():
            for path in ROUTES:
                for _ in range(warmup):
                    request(server.port, path)
        trees = recorded_trees(servers, app)
        samples = {(system, path): [] for system in SYSTEMS for path in ROUTES}
        order = list(SYSTEMS)
        for round_index in range(rounds):
            rotated = order[round_index % len(order):] + order[:round_index % len(order)]
            for system in rotated:
                for path in ROUTES:
                    samples[system, path].append(batch_cpu_per_request(servers[system], path, count))
        return samples, trees
    finally:
        for server in servers.values():
            server.stop()


def summarize(samples, system, path):
    """Median over rounds of (system - baseline) in the same round, µs,
    and half the interquartile range."""
    deltas = [(s - b) / 1000 for s, b in zip(samples[system, path], samples["baseline", path])]
    if len(deltas) < 2:
        return deltas[0], 0.0
    quartiles = statistics.quantiles(deltas, n=4)
    return statistics.median(deltas), (quartiles[2] - quartiles[0]) / 2


def report(app, samples, trees):
    print("\n%s: tracing CPU per request, µs over the baseline (median of rounds ± half IQR)" % app)
    header = ("route", "spans", "same tree", "baseline µs", "ctrace", "ddtrace", "otel-sdk",
              "ctrace-otel", "ddtrace/ctrace", "otel/ctrace", "≤1/10 ddtrace", "< otel")
    print(" | ".join(header))
    for path in ROUTES:
        base = statistics.median(samples["baseline", path]) / 1000
        cost = {system: summarize(samples, system, path) for system in SYSTEMS if system != "baseline"}
        ours, theirs = trees["ctrace"][path], trees["ddtrace"][path]
        spans = "%d / %d" % (span_count(ours), span_count(theirs))
        ctrace_cost = cost["ctrace"][0]
        ratio = lambda system: ("%.1f×" % (cost[system][0] / ctrace_cost)) if ctrace_cost > 0 else "n/a"
        # The targets are for the same spans: no verdict where trees differ.
        same = ours == theirs
        tenth = ("PASS" if ctrace_cost * 10 <= cost["ddtrace"][0] else "FAIL") if same else "n/a"
        below = ("PASS" if ctrace_cost < cost["otel-sdk"][0] else "FAIL") if same else "n/a"
        print(" | ".join([path, spans, "yes" if same else "NO", "%.0f" % base]
                         + ["%+.0f ±%.0f" % cost[s] for s in ("ctrace", "ddtrace", "otel-sdk", "ctrace-otel")]
                         + [ratio("ddtrace"), ratio("otel-sdk"), tenth, below]))
    for path in ROUTES:
        if trees["ctrace"][path] != trees["ddtrace"][path]:
            print("  %s trees differ:\n    ctrace:  %s\n    ddtrace: %s"
                  % (path, trees["ctrace"][path], trees["ddtrace"][path]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 30 requests: a smoke test")
    parser.add_argument("--apps", default="flask,fastapi")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--requests", type=int, help="requests per batch")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 9)
    count = args.requests or (30 if args.quick else 300)
    warmup = 10 if args.quick else 100
    for venv in VENVS.values():
        if not os.path.exists(os.path.join(ROOT, venv, "bin", "python")):
            raise SystemExit("%s is missing: make build peers" % venv)
    print("bench_app: %d rounds × %d requests per (system, route), %d warm-up" % (rounds, count, warmup))
    for app in args.apps.split(","):
        samples, trees = measure(app, rounds, count, warmup)
        report(app, samples, trees)
    return 0


if __name__ == "__main__":
    sys.exit(main())
