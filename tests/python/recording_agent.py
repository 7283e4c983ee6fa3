"""A tiny trace agent for tests: records what tracers send, decoded with the
``msgpack`` package, and misbehaves on demand (status codes, per-path
statuses, slowness, a body cap, going away and coming back).

Used in-process: ``with RecordingAgent() as agent: ...`` serves on a free
port of 127.0.0.1 from a thread; the traced program runs in a subprocess
with ``DD_TRACE_AGENT_URL=agent.url``. Spans of v0.4 and v0.5 payloads are
normalized to the same dicts (v0.4 keys), so tests compare either alike.
"""
import http.server
import json
import socket
import threading
import time
from typing import Dict, List, Optional

import msgpack

SPAN_KEYS_V05 = ("service", "name", "resource", "trace_id", "span_id", "parent_id",
                 "start", "duration", "error", "meta", "metrics", "type")


def decode_payload(path: str, body: bytes) -> List[List[dict]]:
    """Traces of a /v0.4 or /v0.5 body, each span a v0.4-style dict."""
    data = msgpack.unpackb(body, strict_map_key=False, raw=False)
    if path.startswith("/v0.5/"):
        table, traces = data
        decoded = []
        for trace in traces:
            spans = []
            for span in trace:
                assert len(span) == 12, span
                d = dict(zip(SPAN_KEYS_V05, span))
                for key in ("service", "name", "resource", "type"):
                    d[key] = table[d[key]]
                d["meta"] = {table[k]: table[v] for k, v in d["meta"].items()}
                d["metrics"] = {table[k]: v for k, v in d["metrics"].items()}
                spans.append(d)
            decoded.append(spans)
        return decoded
    for trace in data:
        for span in trace:
            span.setdefault("meta", {})
            span.setdefault("metrics", {})
            span.setdefault("type", "")
            span.setdefault("parent_id", 0)
            span.setdefault("error", 0)
    return data


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.server.agent._connections.add(self.connection)

    def finish(self):
        self.server.agent._connections.discard(self.connection)
        super().finish()

    def _reply(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        agent = self.server.agent
        with agent._lock:
            agent._inflight += 1
        try:
            self._handle_put(agent)
        finally:
            with agent._lock:
                agent._inflight -= 1

    def _handle_put(self, agent):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if agent.delay:
            time.sleep(agent.delay)
        status = agent.status_for(self.path, len(body))
        agent._log_request(self.path, status, len(body), dict(self.headers))
        reply = json.dumps({"rate_by_service": agent.rates}).encode() if status == 200 else b"{}"
        self._reply(status, reply)
        # Recorded once answered: an agent stopped mid-request has not
        # accepted the payload, and the tracer rightly sends it again.
        if status == 200 and "/traces" in self.path:
            self.wfile.flush()
            agent._record(self.path, dict(self.headers), body)

    do_POST = do_PUT

    def do_GET(self):
        self._reply(404)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class RecordingAgent:
    """See the module docstring. Attributes a test may set at any time:
    ``status`` (answer to every request), ``status_by_path``
    ({"/v0.5/traces": 404}), ``fail_next`` (answer that many requests with
    500 first), ``delay`` (seconds before answering), ``max_body`` (413
    above it), ``rates`` (rate_by_service to reply)."""

    def __init__(self, port: int = 0, decode: bool = True):
        self.port = port
        self.decode = decode              # False: count bytes only (benchmarks)
        self.bytes_received = 0
        self.status = 200
        self.status_by_path: Dict[str, int] = {}
        self.fail_next = 0
        self.delay = 0.0
        self.max_body: Optional[int] = None
        self.rates = {"service:,env:": 1.0}
        self.payloads: List[dict] = []      # accepted: path, headers, traces
        self.requests: List[tuple] = []     # all: (path, status, length)
        self._lock = threading.Lock()
        self._connections = set()
        self._inflight = 0
        self._server: Optional[_Server] = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> "RecordingAgent":
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.agent = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Goes away like a killed process: closes the listening socket and
        every open connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._server = None

    def __enter__(self) -> "RecordingAgent":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    # -- behaviour -------------------------------------------------------------------
    def status_for(self, path: str, length: int) -> int:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500
        if self.max_body is not None and length > self.max_body:
            return 413
        return self.status_by_path.get(path, self.status)

    def _log_request(self, path, status, length, headers) -> None:
        with self._lock:
            self.requests.append((path, status, length, headers))

    def _record(self, path: str, headers: dict, body: bytes) -> None:
        if not self.decode:
            with self._lock:
                self.bytes_received += len(body)
            return
        traces = decode_payload(path, body)
        with self._lock:
            self.payloads.append({"path": path, "headers": headers, "traces": traces})

    # -- what was received -----------------------------------------------------------
    def _drain(self, timeout: float = 5.0) -> None:
        """Waits for requests being answered: a tracer may have its reply
        before the handler recorded the payload."""
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.005)

    def traces(self) -> List[List[dict]]:
        self._drain()
        with self._lock:
            return [t for p in self.payloads for t in p["traces"]]

    def spans(self) -> List[dict]:
        return [s for t in self.traces() for s in t]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if len(spans) >= count:
                return spans
            time.sleep(0.02)
        return self.spans()
