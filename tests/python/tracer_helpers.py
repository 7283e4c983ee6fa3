"""Shared by the tracer tests: read what the in-memory writer holds, and run
small scripts in a fresh interpreter (the tracer is configured from the
environment at import time)."""
import contextlib
import json
import os
import subprocess
import sys
import textwrap
from typing import Dict, List, Optional

import msgpack


def decode_payload(payload: bytes) -> List[List[dict]]:
    return msgpack.unpackb(payload, raw=False, strict_map_key=False,
                           unicode_errors="surrogateescape")


def take_traces(tracer=None) -> List[List[dict]]:
    """The traces completed since the last call, decoded from v0.4."""
    if tracer is None:
        from ddtrace import tracer
    payload, count = tracer._take_payload(4)
    traces = decode_payload(payload) if payload else []
    assert len(traces) == count
    return traces


def take_spans(tracer=None) -> List[dict]:
    """Every span of every trace completed since the last call."""
    return [span for trace in take_traces(tracer) for span in trace]


def one_span(tracer=None) -> dict:
    """The one span completed since the last call (fails on any other count)."""
    spans = take_spans(tracer)
    assert len(spans) == 1, [s["name"] for s in spans]
    return spans[0]


@contextlib.contextmanager
def settings_restored(int_config):
    """An integration's settings (config.<integration>, a dict) put back
    as they were after the block, whatever it changed."""
    saved = dict(int_config)
    try:
        yield int_config
    finally:
        int_config.clear()
        int_config.update(saved)


def span_named(spans: List[dict], name: str) -> dict:
    matches = [s for s in spans if s["name"] == name]
    assert len(matches) == 1, "expected one span named %r in %r" % (
        name, [s["name"] for s in spans])
    return matches[0]


def reset_tracer(tracer) -> None:
    """Nothing active, writer drained, sending on."""
    from ddtrace import _ctrace
    _ctrace.activate(None)
    tracer.enabled = True
    tracer._take_payload(4)


SCRUBBED = ("DD_", "_CT_")


def run_script(code: str, env: Optional[Dict[str, str]] = None,
               timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter with only the given DD_* settings
    (plus the in-memory writer and a dead agent URL)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    full_env["_CT_IN_MEMORY_WRITER"] = "1"
    full_env["DD_TRACE_AGENT_URL"] = "http://127.0.0.1:9"
    full_env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "script failed (%d):\n%s\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    return proc


def run_traces(code: str, env: Optional[Dict[str, str]] = None) -> List[List[dict]]:
    """Runs code (which uses ddtrace's tracer) and returns the traces it
    completed, decoded."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json as _json
        from ddtrace import tracer as _tracer
        from tracer_helpers import take_traces as _take
        print(_json.dumps(_take(_tracer)))
    """)
    proc = run_script(script, env)
    return json.loads(proc.stdout.strip().splitlines()[-1])
