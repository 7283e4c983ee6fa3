"""Trace processors: tracer.configure(trace_processors=[...]) with
TraceFilter, as ddtrace documents it (drop, modify, raise)."""
import logging

import pytest

from ddtrace.trace import TraceFilter
from tracer_helpers import run_traces, span_named, take_spans, take_traces


class Recorder(TraceFilter):
    def __init__(self):
        self.calls = []

    def process_trace(self, trace):
        self.calls.append([s.name for s in trace])
        return trace


class DropNamed(TraceFilter):
    def __init__(self, name):
        self.name = name

    def process_trace(self, trace):
        return None if any(s.name == self.name for s in trace) else trace


class TagAndRename(TraceFilter):
    def process_trace(self, trace):
        for span in trace:
            span.set_tag("processed", "yes")
            span.resource = "renamed-" + span.name
        return trace


class Raises(TraceFilter):
    def process_trace(self, trace):
        trace[0].set_tag("touched-before-raise", "1")
        raise RuntimeError("processor bug")


class KeepOnlyRoot(TraceFilter):
    def process_trace(self, trace):
        return [s for s in trace if s.parent_id is None]


@pytest.fixture
def configure(tracer):
    def install(*processors):
        tracer.configure(trace_processors=list(processors))
    yield install
    tracer.configure(trace_processors=[])
    assert tracer._finish_hook is None


def test_processor_sees_the_whole_local_trace_in_start_order(tracer, configure):
    recorder = Recorder()
    configure(recorder)
    with tracer.trace("root"):
        with tracer.trace("child"):
            with tracer.trace("grandchild"):
                pass
        assert recorder.calls == []  # the root is still open
    assert recorder.calls == [["root", "child", "grandchild"]]
    assert sorted(s["name"] for s in take_spans(tracer)) == ["child", "grandchild", "root"]


def test_processor_returning_none_drops_the_trace(tracer, configure):
    configure(DropNamed("health-check"))
    with tracer.trace("health-check"):
        with tracer.trace("db"):
            pass
    with tracer.trace("request"):
        pass
    assert [[s["name"] for s in t] for t in take_traces(tracer)] == [["request"]]


def test_processor_returning_empty_list_drops_and_stops_the_chain(tracer, configure):
    after = Recorder()
    configure(KeepOnlyRoot(), DropNamed("x"), after)
    with tracer.trace("x"):
        pass
    assert take_traces(tracer) == []
    assert after.calls == []


def test_processor_modifications_are_sent(tracer, configure):
    configure(TagAndRename())
    with tracer.trace("root"):
        with tracer.trace("child"):
            pass
    spans = take_spans(tracer)
    child = span_named(spans, "child")
    assert child["meta"]["processed"] == "yes"
    assert child["resource"] == "renamed-child"
    assert span_named(spans, "root")["resource"] == "renamed-root"


def test_processor_may_drop_some_spans(tracer, configure):
    configure(KeepOnlyRoot())
    with tracer.trace("root"):
        with tracer.trace("child"):
            pass
    traces = take_traces(tracer)
    assert [[s["name"] for s in t] for t in traces] == [["root"]]
    # the chunk-level tags still land on the chunk's first span
    assert traces[0][0]["metrics"]["_sampling_priority_v1"] == 1


def test_raising_processor_is_logged_once_and_never_propagates(tracer, configure, caplog):
    after = TagAndRename()
    configure(Raises(), after)
    with caplog.at_level(logging.DEBUG, logger="ddtrace"):
        for _ in range(3):
            with tracer.trace("root"):
                pass
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR
              and "error applying processor" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info[0] is RuntimeError
    spans = take_spans(tracer)
    assert len(spans) == 3
    # the chain went on with the spans as they were
    assert all(s["meta"]["processed"] == "yes" for s in spans)


def test_removing_processors_releases_held_spans(tracer, configure):
    recorder = Recorder()
    configure(recorder)
    root = tracer.trace("root")
    with tracer.trace("child"):
        pass  # held: its root is open
    tracer.configure(trace_processors=[])
    root.finish()
    assert sorted(s["name"] for s in take_spans(tracer)) == ["child", "root"]
    assert recorder.calls == []


def test_no_processor_means_no_hook(tracer):
    tracer.configure(trace_processors=[])
    assert tracer._finish_hook is None


def test_unfinished_span_released_does_not_block_its_trace(tracer, configure):
    configure(Recorder())
    root = tracer.start_span("root")
    done = tracer.start_span("done", child_of=root)
    done.finish()
    never_finished = tracer.start_span("lost", child_of=root)
    del never_finished  # abandoned: counted as dropped, never sent
    root.finish()
    assert sorted(s["name"] for s in take_spans(tracer)) == ["done", "root"]


def test_partial_flush_with_processors_sends_in_parts():
    traces = run_traces("""
        from ddtrace import tracer
        from ddtrace.trace import TraceFilter
        class Count(TraceFilter):
            sizes = []
            def process_trace(self, trace):
                Count.sizes.append(len(trace))
                return trace
        tracer.configure(trace_processors=[Count()])
        with tracer.trace("root"):
            for i in range(25):
                tracer.trace("child").finish()
        assert Count.sizes == [10, 10, 6], Count.sizes
    """, env={"DD_TRACE_PARTIAL_FLUSH_MIN_SPANS": "10"})
    assert [len(t) for t in traces] == [10, 10, 6]
    assert traces[0][0]["metrics"]["_dd.py.partial_flush"] == 10
