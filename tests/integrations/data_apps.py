"""Runs a test app of apps/ untraced, under real ddtrace and under ctrace,
and checks the two promises of a data-layer integration: the span trees
are ddtrace's, and tracing changes nothing the app sees (results and
exceptions, as each app reports them through apps/seen.py)."""
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import differential

APPS = os.path.join(differential.HERE, "apps")


def _env(env: Optional[Dict[str, str]], output: str) -> Dict[str, str]:
    full = dict(env or {})
    full["PYTHONPATH"] = APPS
    full["CT_APP_OUTPUT"] = output
    return full


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def run_traced(tracer: str, app: str, args: Sequence[str] = (),
               env: Optional[Dict[str, str]] = None) -> Tuple[List[List[dict]], str]:
    """The traces ``apps/<app>`` sent under ``tracer``'s ddtrace-run, and
    what it saw."""
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        traces = differential.run_script(tracer, _read(os.path.join(APPS, app)),
                                         env=_env(env, output.name), args=args)
        return traces, _read(output.name)


def run_untraced(app: str, args: Sequence[str] = (), env: Optional[Dict[str, str]] = None) -> str:
    """What ``apps/<app>`` saw with ctrace's python and no ddtrace-run (no
    library patched)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
        full.update(_env(env, output.name))
        full["DD_TRACE_ENABLED"] = "false"
        proc = subprocess.run([differential.bin_path("ctrace", "python"), os.path.join(APPS, app), *args],
                              env=full, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return _read(output.name)


def assert_like_ddtrace(app: str, args: Sequence[str] = (), env: Optional[Dict[str, str]] = None,
                        ignore_meta: Sequence[str] = (), ignore_metrics: Sequence[str] = ()) -> List[List[dict]]:
    """The app's span trees under ctrace are ddtrace's, and the app saw
    the same under ddtrace, under ctrace and untraced. ctrace's traces."""
    theirs, seen_theirs = run_traced("ddtrace", app, args, env)
    ours, seen_ours = run_traced("ctrace", app, args, env)
    untraced = run_untraced(app, args, env)
    assert seen_ours == untraced, "ctrace changed what the app saw"
    assert seen_theirs == untraced, "ddtrace changed what the app saw"
    differential.assert_same_trees(theirs, ours, ignore_meta=ignore_meta, ignore_metrics=ignore_metrics)
    return ours


@contextlib.contextmanager
def traced_process(tracer: str, argv: Sequence[str], env: Dict[str, str]) -> Iterator[subprocess.Popen]:
    """``argv`` (a console script of the tracer's virtualenv first) under its
    ddtrace-run, in apps/; stopped with SIGTERM at the end (a Celery warm
    shutdown; a server of apps/ exits on it), which must end it cleanly and
    lets the tracer flush."""
    proc = subprocess.Popen(
        [differential.bin_path(tracer, "ddtrace-run"), differential.bin_path(tracer, argv[0]), *argv[1:]],
        env=env, cwd=APPS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            output = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output = proc.communicate()[0]
    assert proc.returncode == 0, "%s %s failed (%s):\n%s" % (tracer, argv[0], proc.returncode, output)


def celery_worker(tracer: str, worker_app: str, env: Dict[str, str]):
    """A Celery worker of ``apps/<worker_app>`` (solo pool) under ``tracer``."""
    return traced_process(tracer, ["celery", "-A", worker_app, "worker", "--pool=solo", "--concurrency=1",
                                   "--loglevel=warning", "--without-gossip", "--without-mingle",
                                   "--without-heartbeat"], env)


def run_with_worker(tracer: str, app: str, worker_app: str, args: Sequence[str] = (),
                    env: Optional[Dict[str, str]] = None) -> Tuple[List[List[dict]], str]:
    """``apps/<app>`` under ``tracer``'s ddtrace-run while a Celery worker of
    ``worker_app`` runs under it too, both sending to one agent; the traces
    (each trace's chunks from both processes joined) and what the app saw."""
    with differential.RecordingAgent() as agent, tempfile.NamedTemporaryFile(suffix=".json") as output:
        full = differential.tracer_env(agent, _env(env, output.name))
        with celery_worker(tracer, worker_app, full):
            proc = subprocess.run(
                [differential.bin_path(tracer, "ddtrace-run"), differential.bin_path(tracer, "python"),
                 os.path.join(APPS, app), *args], env=full, cwd=APPS, capture_output=True, text=True,
                timeout=180)
            assert proc.returncode == 0, "%s app failed:\n%s%s" % (tracer, proc.stdout, proc.stderr)
        time.sleep(0.2)
        return joined_by_trace(agent.traces()), _read(output.name)


def joined_by_trace(traces: List[List[dict]]) -> List[List[dict]]:
    """The chunks of one trace (sent by several processes) as one trace."""
    by_id: Dict[int, List[dict]] = {}
    for trace in traces:
        for span in trace:
            by_id.setdefault(span["trace_id"], []).append(span)
    return list(by_id.values())


def spans(traces: List[List[dict]], name: Optional[str] = None) -> List[dict]:
    return [s for t in traces for s in t if name is None or s["name"] == name]
