"""Span attributes: ids (128-bit trace ids with the time in the upper half),
times, error, finished, context; finish(finish_time) and its idempotence."""
import time

import pytest

from tracer_helpers import span_named, take_spans, take_traces


def test_trace_id_is_128_bit_with_unix_seconds_shifted_in_the_upper_half(tracer):
    before = int(time.time())
    span = tracer.trace("op")
    after = int(time.time())
    span.finish()
    upper = span.trace_id >> 64
    assert span.trace_id < 2 ** 128
    assert upper & 0xFFFFFFFF == 0
    assert before <= (upper >> 32) <= after
    assert span.trace_id & (2 ** 64 - 1) != 0


def test_payload_carries_low_64_bits_and_dd_p_tid_on_the_first_span_of_the_chunk(tracer):
    with tracer.trace("root") as root:
        with tracer.trace("child"):
            pass
    trace = take_traces()[0]
    first, rest = trace[0], trace[1:]
    assert first["name"] == "root"
    assert first["trace_id"] == root.trace_id & (2 ** 64 - 1)
    assert first["meta"]["_dd.p.tid"] == "%016x" % (root.trace_id >> 64)
    assert all("_dd.p.tid" not in s["meta"] for s in rest)
    assert all(s["trace_id"] == first["trace_id"] for s in rest)


def test_span_ids_are_nonzero_64_bit_and_distinct(tracer):
    ids = set()
    trace_ids = set()
    for _ in range(5000):
        span = tracer.start_span("x")
        assert 0 < span.span_id < 2 ** 64
        ids.add(span.span_id)
        trace_ids.add(span.trace_id & (2 ** 64 - 1))
        span.finish()
    take_traces()
    assert len(ids) == 5000 and len(trace_ids) == 5000


def test_parent_id_is_none_for_a_root_and_the_parent_span_id_for_a_child(tracer):
    with tracer.trace("root") as root:
        assert root.parent_id is None
        with tracer.trace("child") as child:
            assert child.parent_id == root.span_id
    spans = take_spans()
    assert span_named(spans, "root")["parent_id"] == 0


def test_start_and_start_ns_are_wall_clock_now(tracer):
    before = time.time_ns()
    span = tracer.trace("op")
    after = time.time_ns()
    assert isinstance(span.start_ns, int) and isinstance(span.start, float)
    assert before <= span.start_ns <= after
    assert span.start == pytest.approx(span.start_ns / 1e9, abs=1e-6)
    span.finish()
    assert take_spans()[0]["start"] == span.start_ns


def test_duration_is_none_until_finished_then_measured(tracer):
    span = tracer.trace("op")
    assert span.duration is None and span.duration_ns is None
    assert span.finished is False
    time.sleep(0.01)
    span.finish()
    assert span.finished is True
    assert isinstance(span.duration_ns, int) and span.duration_ns >= 10_000_000
    assert span.duration == pytest.approx(span.duration_ns / 1e9)
    assert take_spans()[0]["duration"] == span.duration_ns


def test_finish_with_finish_time_sets_the_duration(tracer):
    span = tracer.start_span("op")
    span.finish(finish_time=span.start + 2.5)
    assert span.duration == pytest.approx(2.5, abs=1e-5)
    assert take_spans()[0]["duration"] == pytest.approx(2.5e9, abs=1e4)


def test_finish_is_idempotent(tracer):
    span = tracer.trace("op")
    span.finish()
    duration = span.duration_ns
    span.finish()
    span.finish(finish_time=span.start + 100)
    assert span.duration_ns == duration
    assert len(take_spans()) == 1
    stats = tracer._stats()
    span2 = tracer.trace("op2")
    span2.finish()
    span2.finish()
    assert tracer._stats()["spans_finished"] == stats["spans_finished"] + 1


def test_name_service_resource_span_type_defaults_and_setters(tracer):
    span = tracer.trace("op")
    assert span.resource == "op"
    assert span.span_type is None
    assert isinstance(span.service, str) and span.service
    span.name = "renamed"
    span.resource = "GET /x"
    span.service = "svc"
    span.span_type = "web"
    span.finish()
    s = take_spans()[0]
    assert (s["name"], s["resource"], s["service"], s["type"]) == ("renamed", "GET /x", "svc", "web")


def test_error_attribute_is_0_or_1_and_is_sent(tracer):
    span = tracer.trace("op")
    assert span.error == 0
    span.error = 1
    assert span.error == 1
    span.finish()
    assert take_spans()[0]["error"] == 1


def test_context_holds_the_span_ids(tracer):
    with tracer.trace("op") as span:
        ctx = span.context
        assert ctx.trace_id == span.trace_id
        assert ctx.span_id == span.span_id
        assert span.context is ctx or span.context == ctx


def test_child_context_shares_the_trace_sampling_priority(tracer):
    with tracer.trace("root") as root:
        with tracer.trace("child") as child:
            child.context.sampling_priority = 2
            assert root.context.sampling_priority == 2
    assert take_spans()[0]["metrics"]["_sampling_priority_v1"] == 2


def test_span_fields_in_the_v04_payload(tracer):
    with tracer.trace("op", service="svc", resource="res", span_type="web") as span:
        pass
    s = take_spans()[0]
    assert set(s) >= {"trace_id", "span_id", "parent_id", "name", "service", "resource",
                      "type", "start", "duration", "error", "meta", "metrics"}
    assert s["span_id"] == span.span_id


def test_span_built_by_hand_is_freed_after_its_on_finish_closure_ran(tracer):
    import gc
    import weakref
    from ddtrace.trace import Span
    seen, callbacks = [], []
    span = Span("closure", on_finish=callbacks)
    callbacks.append(lambda s, keep=span: seen.append(keep.name))  # span -> list -> span
    span_ref = weakref.ref(span)
    span.finish()
    span.finish()
    del span, callbacks
    gc.collect()
    assert seen == ["closure"] and span_ref() is None
