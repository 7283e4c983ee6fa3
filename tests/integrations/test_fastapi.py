"""FastAPI under uvicorn: ddtrace's span trees, field by field, for
routes, path parameters, a mounted sub-app, sync and async endpoints,
errors raised and answered, asyncio tasks and thread pools inside a
request, background tasks; and a request's trace continued across two
services (httpx -> FastAPI) in every propagation style."""
import json

import pytest

import differential
from async_helpers import (APPS, CODE_ORIGIN_META, STYLES, comparable,
                           record, record_both, request, spans_named, uvicorn)

PATHS = [("GET", "/"), ("GET", "/users/3?x=1&password=hunter2"), ("POST", "/users/3"),
         ("DELETE", "/users/3"), ("GET", "/sync"), ("GET", "/boom"), ("GET", "/unavailable"),
         ("GET", "/nowhere"), ("GET", "/sub/items/x"), ("GET", "/concurrency"),
         ("GET", "/background")]


def drive(base, _port):
    return [request(base + path, method=method)[0] for method, path in PATHS]


def app(port):
    return uvicorn("asgi_fastapi:app", port)

#: spans that start in a worker thread or a task given context=
HANDED_OVER = {"pool.work", "task.child"}


def test_fastapi_requests_trace_as_ddtrace():
    (theirs, their_statuses), (ours, our_statuses) = record_both(app, drive)
    assert our_statuses == their_statuses == [200, 200, 200, 405, 200, 500, 503, 404, 200, 200, 200]
    differential.assert_same_trees(comparable(theirs, HANDED_OVER), comparable(ours, HANDED_OVER), ignore_meta=CODE_ORIGIN_META)


def test_fastapi_background_task_is_linked_to_its_request():
    traces, _ = record("ctrace", app, lambda base, port: request(base + "/background"))
    request_span, = spans_named(traces, "fastapi.request")
    task, = spans_named(traces, "fastapi.background_task")
    assert task["trace_id"] != request_span["trace_id"] and task["parent_id"] in (0, None)
    assert task["resource"] == "background_job"
    links = json.loads(task["meta"]["_dd.span_links"])
    assert [int(links[0]["span_id"], 16) if isinstance(links[0]["span_id"], str) else links[0]["span_id"]] \
        == [request_span["span_id"]]
    inner, = spans_named(traces, "background.inner")
    assert inner["parent_id"] == task["span_id"]


def test_fastapi_concurrent_requests_keep_their_spans_apart():
    """40 requests in flight at once on one event loop: each trace holds
    exactly its own request's spans, parented inside it."""
    from concurrent.futures import ThreadPoolExecutor

    def drive_concurrently(base, _port):
        with ThreadPoolExecutor(40) as pool:
            return list(pool.map(lambda n: request(base + "/slow/%d" % n)[0], range(40)))
    traces, statuses = record("ctrace", app, drive_concurrently)
    assert statuses == [200] * 40
    assert len(traces) == 40
    for trace in traces:
        by_name = {span["name"]: span for span in trace}
        assert sorted(by_name) == ["fastapi.request", "fastapi.serialize_response", "slow.inner", "slow.step"]
        n = by_name["fastapi.request"]["meta"]["http.url"].rsplit("/", 1)[-1]
        assert by_name["slow.step"]["resource"] == "step " + n and by_name["slow.inner"]["resource"] == "inner " + n
        assert by_name["slow.step"]["parent_id"] == by_name["fastapi.request"]["span_id"]
        assert by_name["slow.inner"]["parent_id"] == by_name["slow.step"]["span_id"]


@pytest.mark.parametrize("env", [{"DD_FASTAPI_SERVICE": "api", "DD_TRACE_HEADER_TAGS": "x-request-id:req.id"},
                                 {"DD_TRACE_HTTP_SERVER_ERROR_STATUSES": "400-499",
                                  "DD_HTTP_SERVER_TAG_QUERY_STRING": "false"}])
def test_fastapi_settings_apply_as_in_ddtrace(env):
    def drive_settings(base, _port):
        return [request(base + path, headers={"X-Request-Id": "r-1"})[0]
                for path in ("/users/1?token=abc", "/nowhere", "/boom")]
    (theirs, _), (ours, _) = record_both(app, drive_settings, env)
    differential.assert_same_trees(comparable(theirs, HANDED_OVER), comparable(ours, HANDED_OVER), ignore_meta=CODE_ORIGIN_META)


@pytest.mark.parametrize("style", STYLES)
def test_httpx_to_fastapi_is_one_trace_in_each_style(style):
    """Service A (FastAPI, calling B with httpx) -> service B (FastAPI):
    one trace, B's request span the child of A's httpx span."""
    env = {"DD_TRACE_PROPAGATION_STYLE": style}
    port_b = differential.free_port()
    with differential.Server("ctrace", app(port_b), port_b, cwd=APPS,
                             env=dict(env, DD_SERVICE="service-b")) as b:
        env_a = dict(env, DD_SERVICE="service-a", DOWNSTREAM_URL=b.url)
        traces_a, answer = record("ctrace", app, lambda base, port: request(base + "/downstream"), env_a)
    assert answer[0] == 200 and json.loads(answer[1]) == {"status": 200}
    client, = spans_named(traces_a, "http.request")
    front, = spans_named(traces_a, "fastapi.request")
    server, = [s for s in spans_named(b.traces(), "fastapi.request") if s["resource"] == "GET /users/{user_id}"]
    assert client["parent_id"] == front["span_id"]
    assert server["trace_id"] == client["trace_id"] == front["trace_id"]
    assert server["parent_id"] == client["span_id"]
    assert server["service"] == "service-b" and front["service"] == "service-a"
