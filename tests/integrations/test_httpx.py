"""httpx, sync and async: ddtrace's span trees (status, 4xx/5xx rule,
connection errors, redirects, split_by_domain, query strings), the
headers injected in every configured style, and the integration's own
failures never reaching the caller. (httpx -> FastAPI across processes
is in test_fastapi.py.)"""

import pytest

import differential
from async_helpers import STYLES, comparable, run_script_output, spans_named

CLIENT_SCRIPT = r'''
import asyncio, json, sys
import httpx
from ddtrace import tracer
from apps.echo_server import start

base = start(int(sys.argv[1]))
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


def run_both(env=None):
    port = str(differential.free_port())  # the same in both runs: URLs carry it
    return (differential.run_script("ddtrace", CLIENT_SCRIPT, env, args=[port], rates={}),
            differential.run_script("ctrace", CLIENT_SCRIPT, env, args=[port], rates={}))


@pytest.mark.parametrize("env", [{}, {"DD_HTTPX_SPLIT_BY_DOMAIN": "true"},
                                 {"DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING": "false",
                                  "DD_HTTPX_DISTRIBUTED_TRACING": "false"},
                                 {"DD_TRACE_HTTP_SERVER_ERROR_STATUSES": "400-599",
                                  "DD_TRACE_HEADER_TAGS": "server:resp.server,user-agent"}])
def test_httpx_traces_as_ddtrace(env):
    theirs, ours = run_both(env)
    differential.assert_same_trees(comparable(theirs), comparable(ours))
    assert len(spans_named(ours, "http.request")) == 9


INJECT_SCRIPT = r'''
import json
import httpx
from ddtrace import tracer
from apps.echo_server import start

base = start()
with tracer.trace("parent.op") as parent:
    headers = httpx.get(base + "/").json()
print(json.dumps(headers))
'''


@pytest.mark.parametrize("style", STYLES + ("datadog,tracecontext,b3multi,b3", "none"))
def test_httpx_injects_headers_in_each_style_as_ddtrace(style):
    env = {"DD_TRACE_PROPAGATION_STYLE": style}
    sent = {}
    for tracer in ("ddtrace", "ctrace"):
        headers, traces, _ = run_script_output(tracer, INJECT_SCRIPT, env, spans=2)
        client, = spans_named(traces, "http.request")
        root, = spans_named(traces, "parent.op")
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
import asyncio, json
import httpx
from ddtrace.contrib import _safety, trace_utils
from apps.echo_server import start

url = start() + "/plain"

def broken(*args, **kwargs):
    raise RuntimeError("tagging failed")
trace_utils.set_http_meta = broken
trace_utils.inject_headers = broken
bodies = [httpx.get(url).status_code for _ in range(3)]
async def main():
    async with httpx.AsyncClient() as client:
        return (await client.get(url)).status_code
bodies.append(asyncio.run(main()))
print(json.dumps({"bodies": bodies, "errors": dict(_safety.errors)}))
'''


def test_httpx_own_failure_never_reaches_the_caller():
    out, traces, stderr = run_script_output("ctrace", FAILING_SCRIPT, spans=4)
    assert out == {"bodies": [200] * 4, "errors": {"httpx": 8}}  # inject and tag, four requests
    assert stderr.count("the httpx integration failed") == 1  # logged once
    assert len(spans_named(traces, "http.request")) == 4  # each span still finished and sent


PATCH_SCRIPT = r'''
import inspect, json, pickle
import httpx
signature = str(inspect.signature(httpx.Client.send))
from ddtrace import patch, tracer
patch(httpx=True)  # httpx already imported: patched at once
from ddtrace.contrib.httpx.patch import unpatch
from apps.echo_server import start

base = start()
patched = str(inspect.signature(httpx.Client.send))
httpx.get(base + "/traced")
unpatch()
httpx.get(base + "/untraced")
print(json.dumps({"signature": signature == patched, "wrapped_after": hasattr(httpx.Client.send, "__wrapped__"),
                  "picklable": pickle.loads(pickle.dumps(httpx.URL(base))) == httpx.URL(base)}))
'''


def test_httpx_patch_and_unpatch_keep_the_library_intact():
    out, traces, _ = run_script_output("ctrace", PATCH_SCRIPT)
    assert out == {"signature": True, "wrapped_after": False, "picklable": True}
    urls = [s["meta"]["http.url"].rsplit("/", 1)[-1] for s in spans_named(traces, "http.request")]
    assert urls == ["traced"]
