"""Runs a test app of apps/ untraced, under real ddtrace and under ctrace,
and checks the two promises of a data-layer integration: the span trees
are ddtrace's, and tracing changes nothing the app sees (results and
exceptions, as each app reports them through apps/seen.py)."""
import os
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

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


def spans(traces: List[List[dict]], name: Optional[str] = None) -> List[dict]:
    return [s for t in traces for s in t if name is None or s["name"] == name]
