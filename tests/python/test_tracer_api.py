"""Tracer: trace(), start_span(child_of=, activate=), the current_* getters,
the context provider, set_tags, enabled, flush."""
import pytest

from ddtrace.trace import Context, Span
from tracer_helpers import run_traces, span_named, take_spans, take_traces


def test_trace_returns_an_activated_span_child_of_the_active_one(tracer):
    with tracer.trace("parent") as parent:
        assert isinstance(parent, Span)
        assert tracer.current_span() is parent
        with tracer.trace("child") as child:
            assert tracer.current_span() is child
            assert child.parent_id == parent.span_id
            assert child.trace_id == parent.trace_id
        assert tracer.current_span() is parent
    assert tracer.current_span() is None


def test_trace_accepts_service_resource_span_type(tracer):
    with tracer.trace("op", service="svc", resource="res", span_type="web") as span:
        assert (span.name, span.service, span.resource, span.span_type) == ("op", "svc", "res", "web")
    s = take_spans()[0]
    assert (s["name"], s["service"], s["resource"], s["type"]) == ("op", "svc", "res", "web")


def test_trace_positional_arguments_are_name_service_resource_span_type(tracer):
    with tracer.trace("op", "svc", "res", "db") as span:
        assert (span.service, span.resource, span.span_type) == ("svc", "res", "db")


def test_child_inherits_the_parent_service(tracer):
    with tracer.trace("parent", service="svc-a"):
        with tracer.trace("child") as child:
            assert child.service == "svc-a"


def test_start_span_without_child_of_is_a_new_root_and_not_activated(tracer):
    with tracer.trace("active"):
        span = tracer.start_span("free")
        assert span.parent_id is None
        assert tracer.current_span().name == "active"
        span.finish()


def test_start_span_activate_true_makes_it_current(tracer):
    span = tracer.start_span("activated", activate=True)
    assert tracer.current_span() is span
    span.finish()
    assert tracer.current_span() is None


def test_start_span_child_of_span_is_a_local_child(tracer):
    parent = tracer.start_span("parent", service="p")
    child = tracer.start_span("child", child_of=parent)
    assert child.parent_id == parent.span_id
    assert child.trace_id == parent.trace_id
    assert child.service == "p"
    child.finish()
    assert take_traces() == []  # the parent is still open
    parent.finish()
    traces = take_traces()
    assert len(traces) == 1 and {s["name"] for s in traces[0]} == {"parent", "child"}


def test_start_span_child_of_context_continues_a_remote_trace(tracer):
    remote = Context(trace_id=(5 << 64) | 1234, span_id=5678, sampling_priority=2)
    span = tracer.start_span("server", child_of=remote)
    assert span.trace_id == (5 << 64) | 1234
    assert span.parent_id == 5678
    assert tracer.current_root_span() is None  # not activated
    span.finish()
    s = take_spans()[0]
    assert s["trace_id"] == 1234 and s["parent_id"] == 5678
    assert s["metrics"]["_sampling_priority_v1"] == 2
    assert s["meta"]["_dd.p.tid"] == "%016x" % 5


def test_start_span_child_of_context_of_a_local_span_is_its_child(tracer):
    with tracer.trace("parent") as parent:
        child = tracer.start_span("child", child_of=parent.context)
        assert child.parent_id == parent.span_id
        assert child.trace_id == parent.trace_id
        child.finish()


def test_start_span_child_of_rejects_other_types_like_ddtrace(tracer):
    # ddtrace 4.16: AttributeError("'str' object has no attribute 'trace_id'")
    with pytest.raises((TypeError, AttributeError)):
        tracer.start_span("x", child_of="not a span")


def test_current_span_is_none_when_nothing_is_active(tracer):
    assert tracer.current_span() is None
    assert tracer.current_root_span() is None
    assert tracer.current_trace_context() is None


def test_current_root_span_is_the_local_root(tracer):
    with tracer.trace("root") as root:
        with tracer.trace("mid"):
            with tracer.trace("leaf"):
                assert tracer.current_root_span() is root


def test_current_root_span_of_a_remote_continuation_is_the_first_local_span(tracer):
    remote = Context(trace_id=99, span_id=77)
    root = tracer.start_span("local-root", child_of=remote, activate=True)
    with tracer.trace("child"):
        assert tracer.current_root_span() is root
    root.finish()


def test_current_trace_context_is_the_active_span_context(tracer):
    with tracer.trace("op") as span:
        ctx = tracer.current_trace_context()
        assert isinstance(ctx, Context)
        assert ctx.trace_id == span.trace_id and ctx.span_id == span.span_id


def test_activated_context_is_returned_by_current_trace_context_and_parents_new_spans(tracer):
    remote = Context(trace_id=4242, span_id=2424)
    tracer.context_provider.activate(remote)
    assert tracer.context_provider.active() is remote
    assert tracer.current_trace_context() is remote
    assert tracer.current_span() is None
    with tracer.trace("continued") as span:
        assert span.trace_id == 4242 and span.parent_id == 2424
    tracer.context_provider.activate(None)


def test_context_provider_activate_span_and_active(tracer):
    span = tracer.start_span("manual")
    tracer.context_provider.activate(span)
    assert tracer.context_provider.active() is span
    assert tracer.current_span() is span
    span.finish()
    assert tracer.context_provider.active() is None


def test_active_skips_finished_spans_up_to_the_first_unfinished_parent(tracer):
    root = tracer.trace("root")
    mid = tracer.trace("mid")
    leaf = tracer.trace("leaf")
    mid.finish()  # out of order: mid is not the active span
    assert tracer.current_span() is leaf
    leaf.finish()  # re-activates mid, which is finished: root is active
    assert tracer.context_provider.active() is root
    assert tracer.current_span() is root
    root.finish()
    assert tracer.current_span() is None


def test_active_skips_a_finished_span_activated_by_hand(tracer):
    root = tracer.trace("root")
    child = tracer.start_span("child", child_of=root)
    child.finish()
    tracer.context_provider.activate(child)
    assert tracer.context_provider.active() is root
    root.finish()


def test_finishing_the_active_span_reactivates_its_parent(tracer):
    root = tracer.trace("root")
    child = tracer.trace("child")
    assert tracer.current_span() is child
    child.finish()
    assert tracer.current_span() is root
    root.finish()
    assert tracer.current_span() is None


def test_finishing_a_non_active_span_leaves_the_active_one(tracer):
    root = tracer.trace("root")
    other = tracer.start_span("other", child_of=root)
    child = tracer.trace("child")
    other.finish()
    assert tracer.current_span() is child
    child.finish()
    root.finish()


def test_tracer_set_tags_applies_to_spans_created_afterwards():
    # In a subprocess: tracer tags cannot be removed once set.
    traces = run_traces("""
        from ddtrace import tracer
        with tracer.trace("before"):
            pass
        tracer.set_tags({"team": "core", "tier": "gold"})
        with tracer.trace("after"):
            with tracer.trace("after-child"):
                pass
    """)
    spans = [s for t in traces for s in t]
    assert "team" not in span_named(spans, "before")["meta"]
    for name in ("after", "after-child"):
        s = span_named(spans, name)
        assert s["meta"]["team"] == "core" and s["meta"]["tier"] == "gold"


def test_tracer_set_tags_routes_numbers_to_metrics_like_span_set_tags():
    # ddtrace 4.16 applies tracer tags with span.set_tags(self._tags)
    # (ddtrace/_trace/tracer.py, _start_span), so an int becomes a metric.
    traces = run_traces("""
        from ddtrace import tracer
        tracer.set_tags({"global.count": 7})
        with tracer.trace("op"):
            pass
    """)
    span = traces[0][0]
    assert span["metrics"].get("global.count") == 7
    assert "global.count" not in span["meta"]


def test_enabled_false_still_creates_and_activates_spans_but_sends_nothing(tracer):
    tracer.enabled = False
    assert tracer.enabled is False
    with tracer.trace("quiet") as span:
        assert tracer.current_span() is span
        span.set_tag("k", "v")
        assert span.get_tag("k") == "v"
    assert span.finished and span.duration_ns is not None
    assert take_traces() == []
    tracer.enabled = True
    with tracer.trace("loud"):
        pass
    assert [s["name"] for s in take_spans()] == ["loud"]


def test_flush_returns_and_does_not_send_an_open_trace(tracer):
    span = tracer.trace("open")
    tracer.flush()
    assert take_traces() == []
    span.finish()
    tracer.flush()
    assert [s["name"] for s in take_spans()] == ["open"]


def test_a_trace_is_sent_only_when_all_its_local_spans_have_finished(tracer):
    root = tracer.trace("root")
    a = tracer.trace("a")
    b = tracer.start_span("b", child_of=root)
    a.finish()
    root.finish()
    assert take_traces() == []
    assert tracer._stats()["traces_completed"] >= 0
    b.finish()
    traces = take_traces()
    assert len(traces) == 1
    assert sorted(s["name"] for s in traces[0]) == ["a", "b", "root"]
