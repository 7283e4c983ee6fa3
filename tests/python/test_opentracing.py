"""The OpenTracing bridge: OpenTracing code produces ctrace spans, mixed
with ddtrace-API spans in one trace, and propagates through HTTP headers."""
import opentracing
import pytest
from opentracing import Format

from ddtrace import tracer
from ddtrace.opentracer import Tracer
from tracer_helpers import take_traces


@pytest.fixture
def ot():
    return Tracer(service_name="ot-service")


def by_name(trace):
    return {span["name"]: span for span in trace}


def test_active_span_nests_ddtrace_spans_and_children(tracer, ot):
    with ot.start_active_span("ot.root", tags={"resource.name": "GET /", "span.type": "web",
                                               "k": "v"}) as scope:
        assert ot.active_span is scope.span
        with tracer.trace("dd.child"):
            pass
        with ot.start_active_span("ot.child"):
            pass
    [trace] = take_traces()
    spans = by_name(trace)
    root = spans["ot.root"]
    assert root["service"] == "ot-service" and root["resource"] == "GET /"
    assert root["type"] == "web" and root["meta"]["k"] == "v"
    assert spans["dd.child"]["parent_id"] == root["span_id"]
    assert spans["ot.child"]["parent_id"] == root["span_id"]
    assert ot.active_span is None


def test_a_ddtrace_span_is_the_parent_of_an_opentracing_span(tracer, ot):
    with tracer.trace("dd.root"):
        span = ot.start_span("ot.op")
        span.finish()
    [trace] = take_traces()
    spans = by_name(trace)
    assert spans["ot.op"]["parent_id"] == spans["dd.root"]["span_id"]


def test_errors_logged_become_error_tags(tracer, ot):
    span = ot.start_span("failing", ignore_active_span=True)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        span.log_kv({"event": "error", "error.object": exc})
    span.finish()
    [[sent]] = take_traces()
    assert sent["error"] == 1
    assert sent["meta"]["error.type"] == "builtins.ValueError"
    assert sent["meta"]["error.message"] == "boom"


def test_inject_extract_round_trip_keeps_ids_and_baggage(tracer, ot):
    span = ot.start_span("client")
    span.set_baggage_item("user", "42")
    headers = {}
    ot.inject(span.context, Format.HTTP_HEADERS, headers)
    assert headers["x-datadog-trace-id"] == str(span._dd_span.trace_id & (2**64 - 1))
    extracted = ot.extract(Format.HTTP_HEADERS, headers)
    server = ot.start_span("server", child_of=extracted)
    assert server._dd_span.trace_id == span._dd_span.trace_id
    assert server._dd_span.parent_id == span._dd_span.span_id
    server.finish()
    span.finish()
    take_traces()


def test_unsupported_format_and_empty_carrier_raise_opentracing_errors(ot):
    with pytest.raises(opentracing.UnsupportedFormatException):
        ot.inject(ot.start_span("x").context, Format.BINARY, {})
    with pytest.raises(opentracing.SpanContextCorruptedException):
        ot.extract(Format.TEXT_MAP, {})
