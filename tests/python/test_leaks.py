"""Reference counts, Python allocations and RSS stay flat over a million
spans (the memory a span uses is given back when its trace is sent)."""
import gc
import os
import sys
import tracemalloc

import pytest

PAGE = os.sysconf("SC_PAGE_SIZE")
BATCH = 20_000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def run_batch(tracer, name, key, value, exc):
    trace = tracer.trace
    for i in range(BATCH // 4):
        with trace(name, service="svc", resource="res") as root:
            root.set_tag(key, value)
            root.set_tag("n", 5)
            with trace("child") as child:
                child.set_metric("m", 1.5)
                child.set_tag("obj", exc)
            span = tracer.start_span("manual", child_of=root)
            span.finish()
            if i % 100:
                trace("plain").finish()
            else:  # formatting a traceback costs ~150 us: one in a hundred
                try:
                    with trace("err"):
                        raise ValueError("leak")
                except ValueError:
                    pass
    tracer._take_payload(4)  # empty the in-memory writer


def test_refcounts_and_rss_are_stable_over_a_million_spans(tracer):
    name, key, value = "leak.op", "leak.key", "leak-value-%d" % os.getpid()
    exc = ValueError("leak")
    watched = [tracer, name, key, value, exc, None, True, tracer.trace, sys.modules["ddtrace"]]
    run_batch(tracer, name, key, value, exc)  # warm up caches and buffers
    gc.collect()
    refs_before = [sys.getrefcount(o) for o in watched]
    objects_before = len(gc.get_objects())
    rss_before = rss_bytes()
    for _ in range(1_000_000 // BATCH - 1):
        run_batch(tracer, name, key, value, exc)
    gc.collect()
    refs_after = [sys.getrefcount(o) for o in watched]
    # None/True are shared by everything: allow them a little drift.
    for obj, before, after in zip(watched, refs_before, refs_after):
        slack = 50 if obj is None or obj is True else 2
        assert abs(after - before) <= slack, "refcount of %r moved %d -> %d" % (obj, before, after)
    assert len(gc.get_objects()) - objects_before < 100
    grown = rss_bytes() - rss_before
    assert grown < 16 * 1024 * 1024, "RSS grew by %d bytes over a million spans" % grown
    stats = tracer._stats()
    assert stats["spans_dropped"] == 0 or stats["spans_dropped"] < 10


def test_python_allocations_are_stable_with_tracemalloc(tracer):
    name, key, value = "tm.op", "tm.key", "tm-value"
    exc = ValueError("tm")
    run_batch(tracer, name, key, value, exc)
    gc.collect()
    tracemalloc.start()
    try:
        run_batch(tracer, name, key, value, exc)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(4):
            run_batch(tracer, name, key, value, exc)
        gc.collect()
        last, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last - first < 256 * 1024, "Python memory grew by %d bytes" % (last - first)


def test_unsent_spans_are_freed_when_their_objects_die(tracer):
    gc.collect()
    rss_before = rss_bytes()
    for _ in range(20):
        spans = [tracer.start_span("never-finished") for _ in range(10_000)]
        for s in spans:
            s.set_tag("k", "v" * 100)
        del spans
    gc.collect()
    assert rss_bytes() - rss_before < 16 * 1024 * 1024
    assert tracer._take_payload(4)[1] == 0


def test_a_span_referenced_from_its_own_events_is_collected(tracer):
    """Span events are a live list user code can put the span itself in;
    without GC support such a span (and its trace's memory) was never freed."""
    import weakref
    refs = []
    for finished in (True, False):
        span = tracer.trace("cyclic")
        child = tracer.trace("child")       # made before its parent has events
        span._events.append({"name": "self", "attributes": {"span": span}})
        span._events.append(child)          # a cycle through the child's parent
        child.finish()
        if finished:
            span.finish()
        refs += [weakref.ref(span), weakref.ref(child)]
        del span, child
    tracer.context_provider.activate(None)
    gc.collect()
    assert [r() for r in refs] == [None] * 4
    tracer._take_payload(4)
