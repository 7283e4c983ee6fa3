"""The generic ASGI middleware around a bare app under uvicorn:
ddtrace's span trees (status, 5xx, an exception, a streamed body, the
app's own tags), incoming distributed headers, bad input, and the
middleware's own failures never breaking the app."""

import pytest

import differential
from async_helpers import (STYLES, raw_request, record, record_both, request,
                           request_json, spans_named, status_line, uvicorn, without_inherited_service_source)

PATHS = ["/", "/bad-gateway", "/boom", "/span", "/q?a=1&token=secret", "/%E2%9C%93/caf%C3%A9"]


def app(port):
    return uvicorn("asgi_raw:app", port)


def drive(base, _port):
    return [request(base + path)[0] for path in PATHS]


def test_asgi_requests_trace_as_ddtrace():
    (theirs, their_statuses), (ours, our_statuses) = record_both(app, drive)
    assert our_statuses == their_statuses == [200, 502, 500, 200, 200, 200]
    differential.assert_same_trees(without_inherited_service_source(theirs),
                                   without_inherited_service_source(ours))


def test_asgi2_app_is_adapted_and_traced_as_ddtrace():
    legacy = lambda port: uvicorn("asgi_raw:legacy_app", port)  # noqa: E731
    (theirs, their_statuses), (ours, our_statuses) = record_both(legacy, drive)
    assert our_statuses == their_statuses == [200, 502, 500, 200, 200, 200]
    differential.assert_same_trees(without_inherited_service_source(theirs),
                                   without_inherited_service_source(ours))


def test_asgi_exception_is_recorded_and_reraised_unchanged():
    traces, answer = record("ctrace", app, lambda base, port: request(base + "/boom"))
    assert answer[0] == 500  # uvicorn's own answer to the exception the app raised
    span, = spans_named(traces, "asgi.request")
    assert span["error"] == 1 and span["meta"]["error.type"] == "builtins.KeyError"
    assert span["meta"]["error.message"] == "'nope'" and "KeyError" in span["meta"]["error.stack"]
    assert span["meta"]["http.status_code"] == "500"


TRACE_ID, PARENT_ID = 0x5B3A8C1D2E4F6071, 0x1234ABCD
INCOMING = {
    "datadog": {"x-datadog-trace-id": str(TRACE_ID), "x-datadog-parent-id": str(PARENT_ID),
                "x-datadog-sampling-priority": "1"},
    "tracecontext": {"traceparent": "00-%032x-%016x-01" % (TRACE_ID, PARENT_ID)},
    "b3multi": {"x-b3-traceid": "%016x" % TRACE_ID, "x-b3-spanid": "%016x" % PARENT_ID, "x-b3-sampled": "1"},
    "b3": {"b3": "%016x-%016x-1" % (TRACE_ID, PARENT_ID)},
}


@pytest.mark.parametrize("style", STYLES)
def test_asgi_continues_the_trace_of_incoming_headers_in_each_style(style):
    env = {"DD_TRACE_PROPAGATION_STYLE": style}
    (theirs, their_ids), (ours, our_ids) = record_both(
        app, lambda base, port: request_json(base + "/ids", headers=INCOMING[style]), env)
    assert our_ids == their_ids == {"trace_id": TRACE_ID, "parent_id": PARENT_ID}
    span, = spans_named(ours, "asgi.request")
    assert span["trace_id"] == TRACE_ID and span["parent_id"] == PARENT_ID
    differential.assert_same_trees(theirs, ours)


BAD_HEADERS = [
    {"x-datadog-trace-id": "not-a-number", "x-datadog-parent-id": "-5"},
    {"x-datadog-trace-id": "0", "x-datadog-parent-id": "0", "x-datadog-sampling-priority": "lots"},
    {"traceparent": "00-zzzz-1234-01", "tracestate": "dd=s:2;;;;"},
    {"traceparent": "ff-" + "0" * 32 + "-" + "0" * 16 + "-01"},
    {"b3": "garbage-" * 50, "x-b3-traceid": "xyz", "x-b3-spanid": ""},
    {"x-datadog-tags": "_dd.p.dm=" + "a" * 600, "x-datadog-trace-id": "123", "x-datadog-parent-id": "456"},
]


def test_asgi_malformed_propagation_headers_start_a_trace_as_ddtrace():
    def drive_bad(base, _port):
        return [request(base + "/", headers=headers)[0] for headers in BAD_HEADERS]
    (theirs, their_statuses), (ours, our_statuses) = record_both(app, drive_bad)
    assert our_statuses == their_statuses == [200] * len(BAD_HEADERS)
    assert len(spans_named(ours, "asgi.request")) == len(BAD_HEADERS)
    # what each tracer keeps of a half-valid header (tags, a 64-bit id) is
    # the propagation code's business (tests/python); here: a span each.
    for span in spans_named(ours, "asgi.request"):
        assert span["meta"]["http.status_code"] == "200"


def test_asgi_huge_url_headers_and_non_utf8_path_are_served_and_traced():
    long_path = "/" + "a" * 6000
    huge_header = "v" * 7000

    def drive_big(base, port):
        answers = [request(base + long_path + "?" + "k=v&" * 1000)[0],
                   request(base + "/", headers={"User-Agent": huge_header, "X-Big": huge_header})[0]]
        answers.append(status_line(raw_request(port, b"GET /caf%E9/%FF%FE?q=%C3%28 HTTP/1.1\r\nHost: x\r\n"
                                                     b"User-Agent: \xc3\x28bad\r\nConnection: close\r\n\r\n")))
        return answers
    (theirs, their_answers), (ours, our_answers) = record_both(app, drive_big)
    assert our_answers == their_answers
    assert our_answers[:2] == [200, 200] and our_answers[2].startswith(b"HTTP/1.1 200")
    differential.assert_same_trees(without_inherited_service_source(theirs),
                                   without_inherited_service_source(ours))


def test_asgi_own_failure_never_breaks_the_app():
    """A hook of the middleware that raises: the app answers as without
    tracing, the span is still sent, the failure is counted (and logged once)."""
    def drive_broken(base, _port):
        answers = [request(base + path) for path in ("/", "/span", "/")]
        return answers, request_json(base + "/integration-errors")
    traces, (answers, errors) = record("ctrace", lambda port: uvicorn("asgi_raw:broken_app", port), drive_broken)
    assert [a[0] for a in answers] == [200, 200, 200] and answers[0][1] == b"hi"
    assert errors == {"asgi": 4}  # three requests and the one asking
    spans = spans_named(traces, "asgi.request")
    assert len(spans) == 4 and all(s["meta"].get("span.kind") == "server" for s in spans)
    assert spans_named(traces, "inner.work")[0]["parent_id"] in {s["span_id"] for s in spans}
