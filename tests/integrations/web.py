"""Shared by the web integration tests: WSGI apps of ``apps/`` served by
real gunicorn under either tracer's ddtrace-run, and driven over loopback."""
import http.client
import json
import os
import subprocess
from typing import Dict, Iterable, List, Optional, Tuple

import differential

APPS = os.path.join(differential.HERE, "apps")

#: Once a trace's context is injected or extracted, ddtrace copies
#: ``_dd.p.tid`` onto every span made afterwards; the core writes it on the
#: chunk root only, which is all the protocol needs (kept on purpose).
PROPAGATED_TID = {"_dd.p.tid"}


def gunicorn(tracer: str, target: str, env: Optional[Dict[str, str]] = None,
             port: Optional[int] = None) -> differential.Server:
    """``target`` (``module:app`` in apps/) in one gunicorn worker with
    threads. Differential runs pass the same ``port`` to both tracers'
    servers (one after the other), so that URLs compare equal."""
    port = port or differential.free_port()
    full_env = {"PYTHONPATH": APPS, "DJANGO_SETTINGS_MODULE": "django_site.settings"}
    full_env.update(env or {})
    # no control socket: every gunicorn would share one path in $HOME
    server = differential.Server(tracer, ["gunicorn", "-w", "1", "--threads", "4", "--graceful-timeout", "5",
                                          "--no-control-socket", "-b", "127.0.0.1:%d" % port, target],
                                 port, env=full_env, cwd=APPS)
    # No agent rates: with the catch-all "service:,env:" rate the core marks
    # later traces agent-sampled (_dd.p.dm -1) where ddtrace 4.16 keeps -0,
    # a sampling difference that is not the integrations' to settle.
    server.agent.rates = {}
    return server


def request(server: differential.Server, path: str, headers: Optional[Dict[str, str]] = None,
            method: str = "GET") -> Tuple[int, bytes]:
    """One request over a fresh connection; ``path`` is sent as given (it
    may hold bytes that are not UTF-8, as latin-1 characters)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def drive(server: differential.Server, paths: Iterable[str]) -> None:
    """Every path in order. The traces are read from the server once it
    has stopped: stopping makes the tracer flush what is left."""
    for path in paths:
        request(server, path)


def as_ctrace_would(traces: List[List[dict]], manual: Iterable[str]) -> List[List[dict]]:
    """ddtrace's traces with what differs only by where it ran, or on
    purpose, brought to ctrace's form:

    - ``_dd.svc_src`` is removed from spans made by the user's own code
      (``manual``): ddtrace 4 copies it there from the parent span, the C
      core does not (a divergence kept on purpose, see README);
    - a code origin in a library names that library's file in ddtrace's
      virtualenv, not in ctrace's."""
    manual = set(manual)
    venv = os.sep + ".venv-ddtrace" + os.sep
    for trace in traces:
        for span in trace:
            if span["name"] in manual:
                span["meta"].pop("_dd.svc_src", None)
            origin = span["meta"].get("_dd.code_origin.frames.0.file")
            if origin and venv in origin:
                span["meta"]["_dd.code_origin.frames.0.file"] = origin.replace(venv, os.sep + ".venv" + os.sep)
    return traces


def spans_named(traces: List[List[dict]], name: str) -> List[dict]:
    return [s for t in traces for s in t if s["name"] == name]


def run_in_ctrace(code: str, spans: int) -> Tuple[dict, str, List[dict]]:
    """``code`` in a plain interpreter of ctrace's virtualenv (not under
    ddtrace-run), sending to a RecordingAgent: what it printed last (JSON),
    its stderr, and the spans once ``spans`` arrived."""
    with differential.RecordingAgent() as agent:
        proc = subprocess.run([differential.bin_path("ctrace", "python"), "-c", code],
                              env=differential.tracer_env(agent), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        received = [s for t in differential.wait_for_spans(agent, spans) for s in t]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, received
