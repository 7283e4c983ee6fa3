"""The ASGI middleware's C request path (_ctrace.AsgiMiddleware under
contrib/asgi's TraceMiddleware), called directly with hand-made scopes:
the edges the differential tests under uvicorn do not reach (exceptions
around the response start, closing mid-request, malformed headers, a
path that is not UTF-8, scopes that are not HTTP) and the rare parts it
hands to Python (propagation, header tags, query strings, odd statuses)."""
import asyncio
import collections.abc
import types

import pytest

from ddtrace import config
from ddtrace.contrib import _safety
from ddtrace.contrib.asgi import TraceMiddleware, span_from_scope
from tracer_helpers import take_spans


def scope_of(path="/hello", headers=None, query=b"", **extra):
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "query_string": query,
             "headers": [(b"host", b"example.test"), (b"user-agent", b"probe/1")] if headers is None else headers,
             "server": ("127.0.0.1", 8000)}
    scope.update(extra)
    return scope


async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}


class Sink:
    """The server's send: the messages it got."""

    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)


def answering(status=200, headers=(), body=b"ok", before=None, after=None):
    """An ASGI app sending one response; ``before``/``after`` run around it."""
    async def app(scope, receive, send):
        if before:
            before(scope)
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body[:1], "more_body": True})
        await send({"type": "http.response.body", "body": body[1:]})
        if after:
            after(scope)
    return app


def serve(app, scope=None, sink=None):
    asyncio.run(TraceMiddleware(app)(scope or scope_of(), receive, sink or Sink()))


def only_span():
    spans = take_spans()
    assert len(spans) == 1, spans
    return spans[0]


def test_request_span_tags_and_is_active_inside_the_app(tracer):
    seen = {}

    def look(scope):
        seen["active"] = tracer.current_span()
        seen["from_scope"] = span_from_scope(scope)

    serve(answering(before=look))
    span = only_span()
    assert seen["active"] is seen["from_scope"] and seen["active"].span_id == span["span_id"]
    assert span["name"] == "asgi.request" and span["resource"] == "GET /hello" and span["type"] == "web"
    meta = span["meta"]
    assert meta["http.method"] == "GET" and meta["http.url"] == "http://example.test/hello"
    assert meta["http.useragent"] == "probe/1" and meta["http.status_code"] == "200"
    assert meta["span.kind"] == "server" and meta["component"] == "asgi"
    assert meta["http.version"] == "1.1" and meta["asgi.version"] == "3.0" and meta["asgi.spec_version"] == "2.3"
    assert span["error"] == 0


def test_the_span_ends_with_the_last_body_message_not_before(tracer):
    ended = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        ended.append(span_from_scope(scope).finished)
        await send({"type": "http.response.body", "body": b"b"})
        ended.append(span_from_scope(scope).finished)

    sink = Sink()
    serve(app, sink=sink)
    assert ended == [False, True]
    assert [m["type"] for m in sink.messages] == ["http.response.start", "http.response.body", "http.response.body"]
    assert only_span()["meta"]["http.status_code"] == "200"


def test_exception_before_the_response_is_recorded_and_reraised_unchanged(tracer):
    error = KeyError("nope")

    async def app(scope, receive, send):
        raise error

    with pytest.raises(KeyError) as raised:
        serve(app)
    assert raised.value is error and raised.value.__traceback__ is not None
    span = only_span()
    assert span["error"] == 1 and span["meta"]["error.type"] == "builtins.KeyError"
    assert span["meta"]["http.status_code"] == "500"


def test_exception_after_an_error_response_keeps_the_span_open_for_the_traceback(tracer):
    def fail(scope):
        assert not span_from_scope(scope).finished  # a 5xx does not end it
        raise ValueError("after the answer")

    with pytest.raises(ValueError, match="after the answer"):
        serve(answering(status=503, after=fail))
    span = only_span()
    assert span["error"] == 1 and span["meta"]["error.type"] == "builtins.ValueError"
    assert "after the answer" in span["meta"]["error.message"]


def test_exception_after_a_complete_answer_still_propagates(tracer):
    def fail(scope):
        raise ValueError("late")

    with pytest.raises(ValueError, match="late"):
        serve(answering(status=200, after=fail))
    span = only_span()  # it went out with the answer, as ddtrace's does
    assert span["error"] == 0 and span["meta"]["http.status_code"] == "200"


def test_a_custom_exception_handler_tags_the_span(tracer):
    async def app(scope, receive, send):
        raise RuntimeError("x")

    def handler(exc, span):
        span.set_tag("handled", type(exc).__name__)

    with pytest.raises(RuntimeError):
        asyncio.run(TraceMiddleware(app, handle_exception_span=handler)(scope_of(), receive, Sink()))
    span = only_span()
    assert span["meta"]["handled"] == "RuntimeError" and "http.status_code" not in span["meta"]


def test_cancelled_request_ends_its_span_without_an_error(tracer):
    async def main():
        started = asyncio.Event()

        async def app(scope, receive, send):
            started.set()
            await asyncio.sleep(60)

        task = asyncio.ensure_future(TraceMiddleware(app)(scope_of(), receive, Sink()))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = only_span()
    assert span["error"] == 0 and "http.status_code" not in span["meta"]


def test_closing_the_awaitable_mid_request_ends_the_span(tracer):
    class Pause:
        def __await__(self):
            yield "paused"

    async def app(scope, receive, send):
        await Pause()

    awaitable = TraceMiddleware(app)(scope_of(), receive, Sink())
    assert isinstance(awaitable, collections.abc.Coroutine) and asyncio.iscoroutine(awaitable)
    assert awaitable.send(None) == "paused"
    assert take_spans() == []
    awaitable.close()
    assert only_span()["error"] == 0
    with pytest.raises(RuntimeError):
        awaitable.send(None)


def test_an_awaitable_never_awaited_makes_no_span(tracer):
    awaitable = TraceMiddleware(answering())(scope_of(), receive, Sink())
    awaitable.close()
    del awaitable
    assert take_spans() == [] and tracer.current_span() is None


def test_the_return_value_of_the_app_comes_back(tracer):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return ("result", 1)

    assert asyncio.run(TraceMiddleware(app)(scope_of(), receive, Sink())) == ("result", 1)
    assert only_span()["meta"]["http.status_code"] == "204"


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
def test_other_scopes_pass_through_untouched(tracer, scope_type):
    got = {}

    async def app(scope, receive, send):
        got.update(scope=scope, send=send)

    sink = Sink()
    scope = {"type": scope_type}
    asyncio.run(TraceMiddleware(app)(scope, receive, sink))
    assert got["scope"] is scope and got["send"] is sink and "datadog" not in scope
    assert take_spans() == []


@pytest.mark.parametrize("headers", [[(b"host",)], [b"junk"], 7])
def test_malformed_headers_serve_the_request_untraced_and_count_it(tracer, headers):
    before = _safety.errors["asgi"]
    sink = Sink()
    serve(answering(), scope=scope_of(headers=headers), sink=sink)
    assert [m["type"] for m in sink.messages][0] == "http.response.start"
    assert _safety.errors["asgi"] == before + 1
    assert take_spans() == []


def test_headers_of_str_and_odd_bytes_are_read_as_ddtrace_reads_them(tracer):
    headers = [("host", "str.test"), (b"user-agent", b"caf\xe9-agent"), (b"x-\xff", b"v")]
    serve(answering(), scope=scope_of(headers=headers))
    meta = only_span()["meta"]
    assert meta["http.url"] == "http://str.test/hello" and meta["http.useragent"] == "caf-agent"
    serve(answering(), scope=scope_of(headers=[(b"host", None)]))  # no Host: the server's address
    assert only_span()["meta"]["http.url"] == "http://127.0.0.1:8000/hello"


def test_a_user_agent_under_another_spelling_is_found(tracer):
    serve(answering(), scope=scope_of(headers=[(b"User_Agent", b"odd/2")]))
    assert only_span()["meta"]["http.useragent"] == "odd/2"


def test_non_utf8_path_is_served_and_traced(tracer):
    path = "/caf\udce9"  # what a server makes of b"/caf\xe9"
    sink = Sink()
    serve(answering(), scope=scope_of(path=path), sink=sink)
    span = only_span()
    assert span["resource"].startswith("GET /caf") and span["meta"]["http.url"].startswith("http://example.test/caf")
    assert sink.messages[-1]["type"] == "http.response.body"


def test_url_from_the_server_address_without_a_host_header(tracer):
    serve(answering(), scope=scope_of(headers=[], server=("10.0.0.1", 80)))
    serve(answering(), scope=scope_of(headers=[], server=("10.0.0.1", 8080)))
    serve(answering(), scope=scope_of(headers=[], server=None))
    spans = take_spans()
    assert [s["meta"].get("http.url") for s in spans] == [
        "http://10.0.0.1/hello", "http://10.0.0.1:8080/hello", None]


def test_query_string_is_obfuscated_and_tagged_when_asked(tracer):
    config.asgi.http.trace_query_string = True
    try:
        serve(answering(), scope=scope_of(query=b"token=secret&page=2"))
    finally:
        config.asgi.http.trace_query_string = None
    meta = only_span()["meta"]
    assert meta["http.url"].startswith("http://example.test/hello?") and "secret" not in meta["http.url"]
    assert "page=2" in meta["http.url"] and meta["http.query.string"] == "token=secret&page=2"
    serve(answering(), scope=scope_of(query=b"page=3"))
    meta = only_span()["meta"]
    assert meta["http.url"] == "http://example.test/hello?page=3" and "http.query.string" not in meta


def test_credentials_in_the_host_are_removed(tracer):
    serve(answering(), scope=scope_of(headers=[(b"host", b"user:pw@example.test")]))
    assert only_span()["meta"]["http.url"] == "http://example.test/hello"


def test_distributed_headers_continue_the_trace(tracer):
    headers = [(b"host", b"h"), (b"x-datadog-trace-id", b"1234"), (b"x-datadog-parent-id", b"5678"),
               (b"x-datadog-sampling-priority", b"1")]
    serve(answering(), scope=scope_of(headers=headers))
    span = only_span()
    assert span["trace_id"] == 1234 and span["parent_id"] == 5678


def test_header_tags_of_request_and_response(tracer):
    config.asgi.http.trace_headers(["x-request-thing", "x-answer"])
    try:
        serve(answering(headers=[(b"x-answer", b"42")]),
              scope=scope_of(headers=[(b"host", b"h"), (b"x-request-thing", b"abc"), (b"user-agent", b"ua")]))
    finally:
        config.asgi.http._reset()
    meta = only_span()["meta"]
    assert meta["http.request.headers.x-request-thing"] == "abc"
    assert meta["http.response.headers.x-answer"] == "42" and meta["http.useragent"] == "ua"


@pytest.mark.parametrize("status,error", [(500, 0), (404, 1), (418, 1), (200, 0)])
def test_error_statuses_follow_the_setting(tracer, status, error):
    saved = config.http_server.error_statuses
    config.http_server.error_statuses = "400-499"
    try:
        serve(answering(status=status))
    finally:
        config.http_server.error_statuses = saved
    span = only_span()
    assert span["error"] == error and span["meta"]["http.status_code"] == str(status)


def test_a_status_that_is_not_an_int_is_read_as_set_http_meta_reads_it(tracer):
    serve(answering(status="502"))
    span = only_span()
    assert span["meta"]["http.status_code"] == "502" and span["error"] == 1


def test_404_resource_is_obfuscated_when_configured(tracer):
    config.asgi["obfuscate_404_resource"] = True
    try:
        serve(answering(status=404))
    finally:
        config.asgi["obfuscate_404_resource"] = False
    assert only_span()["resource"] == "GET 404"


def test_service_renamed_inside_the_app_does_not_stick(tracer):
    def rename(scope):
        span_from_scope(scope).service = "renamed-inside"

    serve(answering(after=rename))
    assert only_span()["service"] != "renamed-inside"


def test_a_failing_span_modifier_leaves_a_finished_span(tracer):
    def broken(span, scope):
        raise RuntimeError("hook failed")

    before = _safety.errors["asgi"]
    sink = Sink()
    asyncio.run(TraceMiddleware(answering(), span_modifier=broken)(scope_of(), receive, sink))
    assert _safety.errors["asgi"] == before + 1 and len(sink.messages) == 3
    assert only_span()["meta"]["http.status_code"] == "200"


def test_servers_see_an_asgi3_app():
    middleware = TraceMiddleware(answering())
    assert asyncio.iscoroutinefunction(middleware.__call__)
    assert middleware.app is not None and middleware.integration_config is config.asgi


def test_a_disabled_tracer_still_gives_the_app_its_span(tracer):
    seen = []
    tracer.enabled = False
    try:
        serve(answering(before=lambda scope: seen.append(span_from_scope(scope))))
    finally:
        tracer.enabled = True
    assert seen[0] is not None and seen[0].finished
    assert take_spans() == []


def test_an_app_of_generator_based_coroutines_is_awaited(tracer):
    @types.coroutine
    def app(scope, receive, send):
        yield from send({"type": "http.response.start", "status": 201, "headers": []}).__await__()
        yield from send({"type": "http.response.body", "body": b""}).__await__()

    app._asgi_single_callable = True  # (else taken for an ASGI 2 app, as ddtrace does)
    serve(app)
    assert only_span()["meta"]["http.status_code"] == "201"
