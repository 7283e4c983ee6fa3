"""Differential testing of integrations: the same program under real
ddtrace (``.venv-ddtrace``, made by ``make peers``) and under ctrace
(``.venv``), each with its own ``ddtrace-run``, each sending to a
RecordingAgent; the span trees must agree field by field.

- ``run_script(tracer, code)``: a script, run to its end (the exit hook
  flushes), and the traces it sent.
- ``Server(tracer, argv, port)``: a server program (gunicorn, uvicorn...)
  started under ``ddtrace-run``, ready when its port accepts; stopping it
  with SIGTERM lets the tracer flush; ``.traces()`` afterwards.
- ``span_tree(traces)``: traces as nested, comparable dicts: ids, times,
  runtime-id and pids dropped, parents as nesting, children in start order.
- ``assert_same_trees(theirs, ours, ...)``: equal, or an AssertionError
  with a unified diff of the two trees.

Divergences kept on purpose are passed as explicit ignore sets by each
test, with a comment saying why (and the README lists them).
"""
import contextlib
import difflib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from recording_agent import RecordingAgent  # noqa: E402

VENVS = {"ddtrace": os.path.join(ROOT, ".venv-ddtrace"), "ctrace": os.path.join(ROOT, ".venv")}

#: Quiet, fast tracers: no telemetry or remote config from real ddtrace,
#: short flush rounds from both.
BASE_ENV = {
    "DD_TRACE_STARTUP_LOGS": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
    "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.05",
    "DD_TRACE_AGENT_TIMEOUT_SECONDS": "30",
    "DD_SERVICE": "diff-app",
    "DD_ENV": "test",
    "DD_VERSION": "1.0",
}

#: Keys whose values differ from run to run: compared by presence only.
VOLATILE_META = {"runtime-id", "_dd.p.tid", "error.stack", "_dd.parent_id"}
VOLATILE_METRICS = {"process_id"}
#: What ddtrace 4.x adds that ctrace deliberately does not (see the README).
DDTRACE_ONLY_META = {"_dd.tags.process"}      # 4.x process tags for the service catalog
DDTRACE_ONLY_METRICS = {"_dd.tracer_kr"}      # 4.x's record of its keep rate
#: What ctrace adds that ddtrace 4.x leaves out.
CTRACE_ONLY_METRICS = {"_dd.agent_psr"}       # the documented agent-rate decision


def bin_path(tracer: str, name: str) -> str:
    return os.path.join(VENVS[tracer], "bin", name)


def have_ddtrace() -> bool:
    return os.path.exists(bin_path("ddtrace", "ddtrace-run"))


def tracer_env(agent: RecordingAgent, env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "_CT_"))}
    full.update(BASE_ENV)
    full["DD_TRACE_AGENT_URL"] = agent.url
    full["PATH"] = os.pathsep.join([os.path.join(VENVS["ctrace"], "bin"), full.get("PATH", "")])
    full.update(env or {})
    return full


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("server exited with %s before listening:\n%s"
                                 % (proc.returncode, _output(proc)))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError("server did not listen on %d within %.0f s" % (port, timeout))


def _output(proc: subprocess.Popen) -> str:
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return "(no output)"
    return (out or "") + (err or "")


def run_script(tracer: str, code: str, env: Optional[Dict[str, str]] = None,
               timeout: float = 120.0, args: Sequence[str] = (),
               rates: Optional[Dict[str, float]] = None) -> List[List[dict]]:
    """Runs ``code`` under ``tracer``'s ddtrace-run; the traces it sent.
    ``rates``: the rate_by_service the agent answers (its default else)."""
    agent = RecordingAgent()
    if rates is not None:
        agent.rates = rates
    with agent:
        proc = subprocess.run(
            [bin_path(tracer, "ddtrace-run"), bin_path(tracer, "python"), "-c",
             textwrap.dedent(code), *args],
            env=tracer_env(agent, env), capture_output=True, text=True, timeout=timeout, cwd=HERE)
        if proc.returncode != 0:
            raise AssertionError("%s script failed (%d):\n%s\n%s"
                                 % (tracer, proc.returncode, proc.stdout, proc.stderr))
        time.sleep(0.1)
        return agent.traces()


class Server:
    """A server program under ``tracer``'s ddtrace-run, on ``port``.
    ``argv[0]`` names a console script of the tracer's virtualenv
    (``gunicorn``, ``uvicorn``, ``python``). ``ddtrace_run=False`` starts
    it as is, for apps that set the tracer up in their own code."""

    def __init__(self, tracer: str, argv: Sequence[str], port: int,
                 env: Optional[Dict[str, str]] = None, cwd: str = HERE,
                 ddtrace_run: bool = True) -> None:
        self.tracer, self.argv, self.port, self.env, self.cwd = tracer, list(argv), port, env, cwd
        self.ddtrace_run = ddtrace_run
        self.agent = RecordingAgent()
        self.proc: Optional[subprocess.Popen] = None
        self.output = ""

    def __enter__(self) -> "Server":
        self.agent.start()
        argv = [bin_path(self.tracer, self.argv[0]), *self.argv[1:]]
        if self.ddtrace_run:
            argv.insert(0, bin_path(self.tracer, "ddtrace-run"))
        self.proc = subprocess.Popen(argv, env=tracer_env(self.agent, self.env), cwd=self.cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        try:
            wait_for_port(self.port, self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
            self.output = _output(self.proc)
        time.sleep(0.1)
        self.agent.stop()

    def traces(self) -> List[List[dict]]:
        return self.agent.traces()


def stop_process_group(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to a server started with ``start_new_session`` (and its
    workers), so tracers flush; SIGKILL if it is not gone in ``timeout``."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_spans(agent_or_server: Any, count: int, timeout: float = 10.0) -> List[List[dict]]:
    """Traces once at least ``count`` spans arrived (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        traces = agent_or_server.traces()
        if sum(len(t) for t in traces) >= count or time.monotonic() > deadline:
            return traces
        time.sleep(0.05)


# -- comparison ----------------------------------------------------------------------
def _node(span: dict, ignore_meta: Iterable[str], ignore_metrics: Iterable[str]) -> dict:
    ignore_meta, ignore_metrics = set(ignore_meta), set(ignore_metrics)
    meta = {k: ("<present>" if k in VOLATILE_META else v)
            for k, v in (span.get("meta") or {}).items() if k not in ignore_meta}
    metrics = {k: ("<present>" if k in VOLATILE_METRICS else v)
               for k, v in (span.get("metrics") or {}).items() if k not in ignore_metrics}
    return {"name": span["name"], "service": span["service"], "resource": span["resource"],
            "type": span.get("type") or "", "error": span.get("error", 0),
            "meta": dict(sorted(meta.items())), "metrics": dict(sorted(metrics.items())),
            "children": []}


def span_tree(traces: List[List[dict]], ignore_meta: Iterable[str] = (),
              ignore_metrics: Iterable[str] = ()) -> List[dict]:
    """Each trace as its root nodes with their children nested, in start
    order; traces ordered by their first root's (name, resource, start)."""
    result = []
    for trace in traces:
        by_id = {s["span_id"]: s for s in trace}
        nodes = {s["span_id"]: _node(s, ignore_meta, ignore_metrics) for s in trace}
        roots = []
        for span in sorted(trace, key=lambda s: (s["start"], s["span_id"])):
            node = nodes[span["span_id"]]
            parent = by_id.get(span.get("parent_id"))
            (nodes[parent["span_id"]]["children"] if parent else roots).append(node)
        start = min(s["start"] for s in trace)
        result.append((roots[0]["name"], roots[0]["resource"], start, roots))
    return [roots for *_, roots in sorted(result, key=lambda r: r[:3])]


def assert_same_trees(theirs: List[List[dict]], ours: List[List[dict]],
                      ignore_meta: Iterable[str] = (), ignore_metrics: Iterable[str] = ()) -> None:
    """ddtrace's and ctrace's traces agree field by field, beyond the
    project-wide allowances and the test's own ``ignore_*`` sets."""
    expected = span_tree(theirs, set(ignore_meta) | DDTRACE_ONLY_META,
                         set(ignore_metrics) | DDTRACE_ONLY_METRICS)
    got = span_tree(ours, ignore_meta, set(ignore_metrics) | CTRACE_ONLY_METRICS)
    if expected == got:
        return
    left = json.dumps(expected, indent=1, sort_keys=True, default=str).splitlines()
    right = json.dumps(got, indent=1, sort_keys=True, default=str).splitlines()
    diff = "\n".join(difflib.unified_diff(left, right, "ddtrace", "ctrace", lineterm="", n=4))
    raise AssertionError("span trees differ (- ddtrace, + ctrace):\n" + diff)
