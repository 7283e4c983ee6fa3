"""httpx, sync and async: ddtrace's span trees (status, 4xx/5xx rule,
connection errors, redirects, split_by_domain, query strings), the
headers injected in every configured style, and the integration's own
failures never reaching the caller. (httpx -> FastAPI across processes
is in test_fastapi.py.)"""
import json

import pytest

import differential
from async_helpers import STYLES, drop_from_spans, spans_named, without_inherited_service_source

CLIENT_SCRIPT = r'''
import asyncio, http.server, json, sys, threading
import httpx
from ddtrace import tracer

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/plain")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = 500 if "fail" in self.path else (404 if "missing" in self.path else 200)
        body = json.dumps(sorted(k.lower() for k in self.headers.keys())).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % srv.server_address[1]
seen = []

seen.append(httpx.get(base + "/plain?a=1&password=hunter2").json())
with tracer.trace("parent.op"):
    with httpx.Client() as client:
        client.get(base + "/fail")
        client.get(base + "/missing", headers={"User-Agent": "custom/1"})
        client.get(base + "/redirect", follow_redirects=True)
        client.post(base + "/plain", content=b"x" * 10)
try:
    httpx.get("http://127.0.0.1:1/refused")
except httpx.ConnectError:
    pass

async def main():
    async with httpx.AsyncClient() as client:
        seen.append((await client.get(base + "/async?b=2")).json())
        with tracer.trace("async.parent"):
            await asyncio.gather(client.get(base + "/one"), client.get(base + "/fail"))
asyncio.run(main())
print(json.dumps(seen))
'''


def comparable(traces):
    drop_from_spans(traces, meta={"_dd.p.tid"}, children_only=True)
    return without_inherited_service_source(traces)


def run_both(env=None):
    port = str(differential.free_port())  # the same in both runs: URLs carry it
    return (differential.run_script("ddtrace", CLIENT_SCRIPT, env, args=[port], rates={}),
            differential.run_script("ctrace", CLIENT_SCRIPT, env, args=[port], rates={}))


@pytest.mark.parametrize("env", [{}, {"DD_HTTPX_SPLIT_BY_DOMAIN": "true"},
                                 {"DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING": "false",
                                  "DD_HTTPX_DISTRIBUTED_TRACING": "false"},
                                 {"DD_TRACE_HTTP_SERVER_ERROR_STATUSES": "400-599",
                                  "DD_TRACE_HEADER_TAGS": "content-length:resp.len,user-agent"}])
def test_httpx_traces_as_ddtrace(env):
    theirs, ours = run_both(env)
    differential.assert_same_trees(comparable(theirs), comparable(ours))
    assert len(spans_named(ours, "http.request")) == 9


INJECT_SCRIPT = r'''
import http.server, json, threading
import httpx
from ddtrace import tracer

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
with tracer.trace("parent.op") as parent:
    headers = httpx.get("http://127.0.0.1:%d/" % srv.server_address[1]).json()
print(json.dumps(headers))
'''


@pytest.mark.parametrize("style", STYLES + ("datadog,tracecontext,b3multi,b3", "none"))
def test_httpx_injects_headers_in_each_style_as_ddtrace(style):
    env = {"DD_TRACE_PROPAGATION_STYLE": style}
    sent = {}
    for tracer in ("ddtrace", "ctrace"):
        with differential.RecordingAgent() as agent:
            import subprocess
            proc = subprocess.run([differential.bin_path(tracer, "ddtrace-run"), differential.bin_path(tracer, "python"),
                                   "-c", INJECT_SCRIPT], env=differential.tracer_env(agent, env),
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
            headers = json.loads(proc.stdout.strip().splitlines()[-1])
            differential.wait_for_spans(agent, 2)
            client, = spans_named(agent.traces(), "http.request")
            root, = spans_named(agent.traces(), "parent.op")
        sent[tracer] = headers
        trace_id = int(root["meta"]["_dd.p.tid"], 16) << 64 | client["trace_id"]
        propagated = {k for k in headers if k.startswith(("x-datadog", "traceparent", "tracestate", "x-b3", "b3"))}
        if style == "none":
            assert propagated == set()
        if "datadog" in style.split(","):
            assert headers["x-datadog-parent-id"] == str(client["span_id"])
            assert headers["x-datadog-trace-id"] == str(client["trace_id"] & (2**64 - 1))
        if "tracecontext" in style.split(","):
            assert headers["traceparent"] == "00-%032x-%016x-01" % (trace_id, client["span_id"])
        if "b3" in style.split(","):
            assert headers["b3"] == "%032x-%016x-1" % (trace_id, client["span_id"])
        if "b3multi" in style.split(","):
            assert headers["x-b3-spanid"] == "%016x" % client["span_id"]
            assert headers["x-b3-traceid"] == "%032x" % trace_id
    names = {tracer: sorted(k for k in headers if k.startswith(("x-datadog", "traceparent", "tracestate", "x-b3", "b3")))
             for tracer, headers in sent.items()}
    assert names["ctrace"] == names["ddtrace"]


FAILING_SCRIPT = r'''
import asyncio, http.server, json, threading
import httpx
from ddtrace.contrib import _safety, trace_utils

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/" % srv.server_address[1]

def broken(*args, **kwargs):
    raise RuntimeError("tagging failed")
trace_utils.set_http_meta = broken
trace_utils.inject_headers = broken
bodies = [httpx.get(url).text for _ in range(3)]
async def main():
    async with httpx.AsyncClient() as client:
        return (await client.get(url)).text
bodies.append(asyncio.run(main()))
print(json.dumps({"bodies": bodies, "errors": dict(_safety.errors)}))
'''


def test_httpx_own_failure_never_reaches_the_caller(capfd):
    with differential.RecordingAgent() as agent:
        import subprocess
        proc = subprocess.run([differential.bin_path("ctrace", "ddtrace-run"), differential.bin_path("ctrace", "python"),
                               "-c", FAILING_SCRIPT], env=differential.tracer_env(agent),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        differential.wait_for_spans(agent, 4)
        traces = agent.traces()
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"bodies": ["ok"] * 4, "errors": {"httpx": 8}}  # inject and tag, four requests
    assert proc.stderr.count("the httpx integration failed") == 1  # logged once
    assert len(spans_named(traces, "http.request")) == 4  # each span still finished and sent
