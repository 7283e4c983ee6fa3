"""flush() and shutdown(timeout) against a tiny in-process agent: flush
delivers what is buffered now (not at the next writer round), shutdown
flushes and spans started afterwards are never sent."""
import http.server
import os
import subprocess
import sys
import textwrap
import threading

import msgpack
import pytest


class _Agent(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.names = []
        self.lock = threading.Lock()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code, body=b"{}"):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.startswith("/v0.4/traces"):
            return self._reply(404, b"")
        traces = msgpack.unpackb(body, raw=False, strict_map_key=False)
        with self.server.lock:
            self.server.names.extend(s["name"] for t in traces for s in t)
        self._reply(200, b'{"rate_by_service": {}}')

    do_POST = do_PUT

    def do_GET(self):
        self._reply(404, b"")


@pytest.fixture
def agent():
    server = _Agent()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _start(code, agent):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    env.update({"DD_TRACE_AGENT_URL": "http://127.0.0.1:%d" % agent.server_address[1],
                "DD_TRACE_API_VERSION": "v0.4",
                # a writer round far in the future: only flush() sends
                "DD_TRACE_WRITER_INTERVAL_SECONDS": "600"})
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _step(proc):
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return line.strip()


def test_flush_delivers_buffered_traces_before_returning(agent):
    proc = _start("""
        import sys
        from ddtrace import tracer
        with tracer.trace("first"):
            pass
        print("traced", flush=True); sys.stdin.readline()
        tracer.flush()
        print("flushed", flush=True); sys.stdin.readline()
    """, agent)
    try:
        assert _step(proc) == "traced"
        assert agent.names == []  # the writer interval has not elapsed
        proc.stdin.write("\n"); proc.stdin.flush()
        assert _step(proc) == "flushed"
        assert agent.names == ["first"]
        proc.stdin.write("\n"); proc.stdin.flush()
        assert proc.wait(10) == 0
    finally:
        proc.kill()


def test_shutdown_flushes_and_later_spans_are_not_sent(agent):
    proc = _start("""
        import sys
        from ddtrace import tracer
        with tracer.trace("before"):
            pass
        tracer.shutdown(timeout=5)
        print("shut", flush=True); sys.stdin.readline()
        with tracer.trace("after") as span:
            pass
        assert span.finished
        tracer.flush(2)
        print("done", flush=True)
    """, agent)
    try:
        assert _step(proc) == "shut"
        assert agent.names == ["before"]
        proc.stdin.write("\n"); proc.stdin.flush()
        assert _step(proc) == "done"
        assert proc.wait(10) == 0
        assert agent.names == ["before"]
    finally:
        proc.kill()


def test_shutdown_then_spans_are_not_in_the_in_memory_writer():
    from tracer_helpers import run_traces
    traces = run_traces("""
        from ddtrace import tracer
        with tracer.trace("before"):
            pass
        tracer.shutdown(timeout=1)
        with tracer.trace("after"):
            pass
        tracer.shutdown()  # twice: no error
    """)
    names = [s["name"] for t in traces for s in t]
    assert "after" not in names
