"""Helpers shared by the ASGI, aiohttp and HTTP-client tests: serving an
app under a tracer, requests over loopback (urllib and raw sockets, for
bytes no client library would send), and the per-span allowances those
tests make for ddtrace's own quirks."""
import contextlib
import json
import os
import socket
import urllib.error
import urllib.request
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import differential

APPS = os.path.join(differential.HERE, "apps")

#: Code origin is part of ddtrace's dynamic instrumentation product, on by
#: default in 4.16 for web entry spans; ctrace does not provide it.
CODE_ORIGIN_META = {"_dd.code_origin.type", "_dd.code_origin.frames.0.file",
                    "_dd.code_origin.frames.0.line", "_dd.code_origin.frames.0.method",
                    "_dd.code_origin.frames.0.type"}

STYLES = ("datadog", "tracecontext", "b3multi", "b3")


def uvicorn(module: str, port: int) -> List[str]:
    return ["uvicorn", module, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--log-level", "warning"]


def serve(tracer: str, argv: Sequence[str], port: int, env: Optional[Dict[str, str]] = None) -> differential.Server:
    """A Server whose agent sends no sampling rates back: ddtrace and
    ctrace name the decision of the agent's default rate differently
    (``_dd.p.dm`` -0 against -1 with ``_dd.p.ksr``), a core matter that is
    not what these tests are about."""
    server = differential.Server(tracer, argv, port, env=env, cwd=APPS)
    server.agent.rates = {}
    return server


def request(url: str, method: str = "GET", headers: Optional[Dict[str, str]] = None,
            data: Optional[bytes] = None, timeout: float = 30) -> Tuple[int, bytes]:
    """(status, body) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def request_json(url: str, **kwargs) -> dict:
    status, body = request(url, **kwargs)
    assert status == 200, (status, body)
    return json.loads(body)


def raw_request(port: int, payload: bytes, timeout: float = 10) -> bytes:
    """Sends ``payload`` as is and returns all the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(payload)
        chunks = []
        with contextlib.suppress(socket.timeout, ConnectionResetError):
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


def status_line(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def drop_from_spans(traces: List[List[dict]], names: Iterable[str] = (), meta: Iterable[str] = (),
                    metrics: Iterable[str] = (), children_only: bool = False) -> List[List[dict]]:
    """``traces`` with these meta/metric keys removed from the spans named
    ``names`` (all spans when empty; only non-root ones with ``children_only``)."""
    names, meta, metrics = set(names), set(meta), set(metrics)
    for trace in traces:
        ids = {span["span_id"] for span in trace}
        for span in trace:
            if names and span["name"] not in names:
                continue
            if children_only and span.get("parent_id") not in ids:
                continue
            for key in meta:
                span.get("meta", {}).pop(key, None)
            for key in metrics:
                span.get("metrics", {}).pop(key, None)
    return traces


def all_spans(traces: List[List[dict]]) -> List[dict]:
    return [span for trace in traces for span in trace]


def spans_named(traces: List[List[dict]], name: str) -> List[dict]:
    return [span for span in all_spans(traces) if span["name"] == name]


def record(tracer: str, argv_for_port, drive, env: Optional[Dict[str, str]] = None, port: int = 0):
    """Serves ``argv_for_port(port)`` under ``tracer`` (on ``port``, else
    a free one), runs ``drive(base_url, port)``; (traces sent, what drive
    returned)."""
    port = port or differential.free_port()
    with serve(tracer, argv_for_port(port), port, env) as server:
        result = drive(server.url, port)
    return server.traces(), result


def record_both(argv_for_port, drive, env: Optional[Dict[str, str]] = None):
    """``record`` under ddtrace, then ctrace, on the same port (URLs
    carry it); ((ddtrace's traces, results), (ctrace's traces, results))."""
    port = differential.free_port()
    return (record("ddtrace", argv_for_port, drive, env, port),
            record("ctrace", argv_for_port, drive, env, port))


def without_inherited_service_source(traces: List[List[dict]]) -> List[List[dict]]:
    """ddtrace's core copies ``_dd.svc_src`` from parent to child when the
    child inherits the service; ctrace's core does not (yet). Integration
    spans set their own (they carry ``component``) and stay compared."""
    for trace in traces:
        ids = {span["span_id"] for span in trace}
        for span in trace:
            meta = span.get("meta", {})
            if span.get("parent_id") in ids and "component" not in meta:
                meta.pop("_dd.svc_src", None)
    return traces


def comparable(traces: List[List[dict]], handed_over: Iterable[str] = ()) -> List[List[dict]]:
    """``traces`` less what differs by ddtrace's own quirks, not by the
    integrations:
    - spans named in ``handed_over`` start where ddtrace hands a Context
      (a worker thread, a task given ``context=``): its first span there is
      a local root of its own (runtime-id, process id, top level), where
      ctrace hands over the span and makes a plain child (README);
    - ddtrace copies ``_dd.p.tid`` onto some child spans (the root has it);
    - span links name ids that differ run to run (tests check them apart);
    - the inherited ``_dd.svc_src`` (``without_inherited_service_source``)."""
    if handed_over:
        drop_from_spans(traces, names=handed_over, meta={"runtime-id"},
                        metrics={"process_id", "_dd.top_level"}, children_only=True)
    drop_from_spans(traces, meta={"_dd.p.tid"}, children_only=True)
    drop_from_spans(traces, meta={"_dd.span_links"})
    return without_inherited_service_source(traces)


def run_script_output(tracer: str, code: str, env: Optional[Dict[str, str]] = None, spans: int = 1):
    """Runs ``code`` under ``tracer``'s ddtrace-run (from this folder, so
    it can import ``apps``); (the JSON of its last stdout line, the traces
    once ``spans`` spans arrived, its stderr)."""
    import subprocess
    with differential.RecordingAgent() as agent:
        proc = subprocess.run([differential.bin_path(tracer, "ddtrace-run"), differential.bin_path(tracer, "python"),
                               "-c", code], env=differential.tracer_env(agent, env), cwd=differential.HERE,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        traces = differential.wait_for_spans(agent, spans)
    return json.loads(proc.stdout.strip().splitlines()[-1]), traces, proc.stderr
