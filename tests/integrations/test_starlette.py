"""Starlette under uvicorn: ddtrace's span trees for routes with
converters, a mounted sub-app (a span per level), a user middleware,
404/405, an exception in a handler, 5xx answers and background tasks."""
import differential
from async_helpers import CODE_ORIGIN_META, comparable, record, record_both, request, spans_named, uvicorn

PATHS = [("GET", "/"), ("GET", "/users/3"), ("POST", "/users/3"), ("GET", "/boom"),
         ("GET", "/status/404"), ("GET", "/status/500"), ("GET", "/status/502"), ("GET", "/sub/items/x"),
         ("GET", "/sub/nothing"), ("GET", "/nowhere"), ("GET", "/background")]


def drive(base, _port):
    return [request(base + path, method=method)[0] for method, path in PATHS]


def app(port):
    return uvicorn("asgi_starlette:app", port)


def test_starlette_requests_trace_as_ddtrace():
    (theirs, their_statuses), (ours, our_statuses) = record_both(app, drive)
    assert our_statuses == their_statuses == [200, 200, 405, 500, 404, 500, 502, 200, 404, 404, 200]
    differential.assert_same_trees(comparable(theirs), comparable(ours), ignore_meta=CODE_ORIGIN_META)


def test_starlette_names_spans_of_a_mounted_app_by_their_own_route():
    ours, _ = record("ctrace", app, lambda base, port: request(base + "/sub/items/x"))
    outer, inner = sorted(spans_named(ours, "starlette.request"), key=lambda s: s["start"])
    timing, = spans_named(ours, "middleware.timing")
    assert outer["resource"] == "GET /sub/items/{item}" and outer["meta"]["http.route"] == "/sub/items/{item}"
    assert inner["resource"] == "GET /items/{item}" and "http.route" not in inner["meta"]
    assert inner["parent_id"] == timing["span_id"] and timing["parent_id"] == outer["span_id"]
