"""ddtrace.opentelemetry.TracerProvider: code written against the
OpenTelemetry API produces ctrace spans, in one trace with ddtrace-API
spans, mapped as ddtrace maps them."""
import json

import pytest

otel_trace = pytest.importorskip("opentelemetry.trace")

from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags  # noqa: E402

from ddtrace.opentelemetry import TracerProvider  # noqa: E402
from helpers import span_named, take_spans  # noqa: E402


@pytest.fixture
def otel(tracer):
    return TracerProvider().get_tracer("tests")


def test_otel_and_ddtrace_spans_share_one_trace(tracer, otel):
    with tracer.trace("dd.root") as root:
        with otel.start_as_current_span("GET /users", kind=SpanKind.SERVER,
                                        attributes={"http.request.method": "GET"}) as server:
            assert otel_trace.get_current_span() is server
            with tracer.trace("dd.inside") as inside:
                with otel.start_as_current_span("work") as work:
                    pass
        assert tracer.current_span() is root  # the OTel block gave way again
    spans = {s["name"]: s for s in take_spans(tracer)}
    assert set(spans) == {"dd.root", "http.server.request", "dd.inside", "internal"}
    assert {s["trace_id"] for s in spans.values()} == {root.trace_id & (2**64 - 1)}
    http = spans["http.server.request"]
    assert http["parent_id"] == root.span_id and http["resource"] == "GET /users"
    assert http["meta"]["span.kind"] == "server"
    assert spans["dd.inside"]["parent_id"] == http["span_id"] == server.get_span_context().span_id
    assert spans["internal"]["parent_id"] == inside.span_id
    assert spans["internal"]["resource"] == "work" and work.is_recording() is False


def test_status_attributes_events_and_links(tracer, otel):
    linked = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    span = otel.start_span("SELECT users", kind=SpanKind.CLIENT, links=[Link(linked, {"why": "batch"})],
                           attributes={"db.system": "postgresql", "rows": 3, "service.name": "users-db"})
    span.add_event("retry", {"attempt": 2}, timestamp=1_700_000_000_000_000_000)
    span.set_status(Status(StatusCode.ERROR, "timeout"))
    span.end()
    span.set_attribute("after.end", "ignored")
    sent = span_named(take_spans(tracer), "postgresql.query")
    assert sent["service"] == "users-db" and sent["resource"] == "SELECT users"
    assert sent["error"] == 1 and sent["meta"]["error.message"] == "timeout"
    assert sent["meta"]["span.kind"] == "client" and sent["metrics"]["rows"] == 3
    assert "after.end" not in sent["meta"]
    (event,) = json.loads(sent["meta"]["events"])
    assert event == {"name": "retry", "time_unix_nano": 1_700_000_000_000_000_000,
                     "attributes": {"attempt": 2}}
    (link,) = sent["span_links"]
    assert link["trace_id"] == 0xABC and link["span_id"] == 0xDEF
    assert link["attributes"] == {"why": "batch"} and link["flags"] & 1


def test_exception_in_current_span_sets_error_and_propagates(tracer, otel):
    with pytest.raises(KeyError):
        with otel.start_as_current_span("failing"):
            raise KeyError("k")
    sent = span_named(take_spans(tracer), "internal")
    assert sent["error"] == 1 and sent["meta"]["error.type"] == "builtins.KeyError"


def test_remote_parent_from_an_otel_context(tracer, otel):
    remote = SpanContext(trace_id=0x1234, span_id=0x5678, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    context = otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(remote))
    otel.start_span("child", context=context).end()
    sent = span_named(take_spans(tracer), "internal")
    assert sent["trace_id"] == 0x1234 and sent["parent_id"] == 0x5678
