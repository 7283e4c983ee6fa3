"""aiohttp's own server (``trace_app``) and client: ddtrace's span trees
for routes, an exception, 4xx/5xx answers, a streamed response, static
files and unmatched paths; and aiohttp client -> aiohttp server across
two processes in every propagation style."""

import pytest

import differential
from async_helpers import APPS, STYLES, comparable, record, record_both, request, request_json, spans_named

PATHS = ["/", "/users/3?q=1&secret=x", "/boom", "/status/404", "/status/500", "/stream",
         "/static/asgi_raw.py", "/nowhere"]


def server(port):
    return ["python", "asgi_aiohttp.py", str(port)]


def test_aiohttp_server_traces_as_ddtrace():
    def drive(base, _port):
        return [request(base + path)[0] for path in PATHS]
    (theirs, their_statuses), (ours, our_statuses) = record_both(server, drive)
    assert our_statuses == their_statuses == [200, 200, 500, 404, 500, 200, 200, 404]
    differential.assert_same_trees(comparable(theirs), comparable(ours))


def test_aiohttp_stream_span_covers_the_whole_stream():
    traces, _ = record("ctrace", server, lambda base, port: request(base + "/stream"))
    span, = spans_named(traces, "aiohttp.request")
    chunks = spans_named(traces, "stream.chunk")
    assert len(chunks) == 3 and all(c["parent_id"] == span["span_id"] for c in chunks)
    assert span["start"] + span["duration"] >= max(c["start"] + c["duration"] for c in chunks)


def test_aiohttp_server_own_failure_never_breaks_the_app():
    def drive(base, _port):
        return [request(base + path) for path in ("/", "/users/1", "/boom")], request_json(base + "/integration-errors")
    traces, (answers, errors) = record("ctrace", server, drive, {"BREAK_TRACING": "1"})
    assert [a[0] for a in answers] == [200, 200, 500] and answers[0][1] == b"home"
    # each request fails once when it starts and once when it ends
    assert errors == {"aiohttp": 7}
    spans = spans_named(traces, "aiohttp.request")
    assert len(spans) == 4 and spans_named(traces, "manual.lookup")[0]["parent_id"] in {s["span_id"] for s in spans}


CLIENT_SCRIPT = r'''
import asyncio, json, sys
import aiohttp
from ddtrace import tracer
from apps.echo_server import start

base = start(int(sys.argv[1]))
seen = []

async def main():
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/plain?x=1", params={"y": "2"}) as answer:
            seen.append(json.loads(await answer.text()))
        with tracer.trace("parent.op"):
            async with session.get(base + "/fail", headers=[("X-Custom", "1")]) as answer:
                await answer.read()
            async with session.get(base + "/missing") as answer:
                await answer.read()
    async with aiohttp.ClientSession(base_url=base) as session:
        async with session.get("/relative") as answer:
            await answer.read()
    try:
        async with aiohttp.ClientSession() as session:
            await session.get("http://127.0.0.1:1/refused")
    except aiohttp.ClientError:
        pass

asyncio.run(main())
print(json.dumps(seen))
'''


@pytest.mark.parametrize("env", [{}, {"DD_AIOHTTP_CLIENT_SPLIT_BY_DOMAIN": "true",
                                      "DD_AIOHTTP_CLIENT_DISTRIBUTED_TRACING": "false"}])
def test_aiohttp_client_traces_as_ddtrace(env):
    port = str(differential.free_port())  # the same in both runs: URLs carry it
    theirs = differential.run_script("ddtrace", CLIENT_SCRIPT, env, args=[port], rates={})
    ours = differential.run_script("ctrace", CLIENT_SCRIPT, env, args=[port], rates={})
    differential.assert_same_trees(comparable(theirs), comparable(ours))
    assert len(spans_named(ours, "aiohttp.request")) == 5


@pytest.mark.parametrize("style", STYLES)
def test_aiohttp_client_to_aiohttp_server_is_one_trace_in_each_style(style):
    env = {"DD_TRACE_PROPAGATION_STYLE": style}
    port_b = differential.free_port()
    b = differential.Server("ctrace", server(port_b), port_b, cwd=APPS,
                            env=dict(env, DD_SERVICE="service-b"))
    with b:
        traces_a, answer = record("ctrace", server, lambda base, port: request_json(base + "/downstream"),
                                  dict(env, DD_SERVICE="service-a", DOWNSTREAM_URL=b.url))
    assert answer == {"status": 200}
    front = [s for s in spans_named(traces_a, "aiohttp.request") if s["meta"].get("span.kind") == "server"]
    client = [s for s in spans_named(traces_a, "aiohttp.request") if s["meta"].get("span.kind") == "client"]
    assert len(front) == len(client) == 1
    remote, = spans_named(b.traces(), "aiohttp.request")
    assert client[0]["parent_id"] == front[0]["span_id"]
    assert remote["trace_id"] == client[0]["trace_id"] == front[0]["trace_id"]
    assert remote["parent_id"] == client[0]["span_id"] and remote["resource"] == "GET /users/{user_id}"
