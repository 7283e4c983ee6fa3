"""The import paths and the seed's three styles (decorator, context
manager, manual start/finish) produce correct traces unchanged."""
import ddtrace
from tracer_helpers import span_named, take_spans, take_traces


def test_both_import_paths_give_the_same_global_tracer_and_types():
    from ddtrace import tracer as old_style
    from ddtrace.trace import Context, Span, Tracer, tracer as new_style
    assert old_style is new_style
    assert isinstance(new_style, Tracer)
    assert ddtrace.Span is Span and ddtrace.Context is Context
    assert ddtrace.Tracer is Tracer


def test_trace_module_exports_trace_filter_and_context_provider():
    from ddtrace.trace import BaseContextProvider, TraceFilter
    from ddtrace import tracer
    assert isinstance(tracer.context_provider, BaseContextProvider)
    assert hasattr(TraceFilter, "process_trace")


def test_span_and_tracer_are_c_extension_types():
    from ddtrace import _ctrace
    from ddtrace.trace import Span, Context
    assert Span.__module__ != "ddtrace._trace.span"
    assert Span is _ctrace.Span and Context is _ctrace.Context
    assert issubclass(ddtrace.Tracer, _ctrace.Tracer)


def test_seed_style_decorator_sends_one_span_named_after_module_and_function(tracer):
    @tracer.wrap()
    def business_logic():
        """Une méthode pertinente à tracer."""
        return 42

    assert business_logic() == 42
    traces = take_traces()
    assert len(traces) == 1 and len(traces[0]) == 1
    span = traces[0][0]
    assert span["name"] == "%s.business_logic" % __name__
    assert span["resource"] == span["name"]
    assert span["parent_id"] == 0 and span["error"] == 0


def test_seed_style_context_manager_sends_nested_spans_as_one_trace(tracer):
    with tracer.trace("operations.pertinentes"):
        with tracer.trace("inner"):
            pass
    traces = take_traces()
    assert len(traces) == 1
    outer, inner = span_named(traces[0], "operations.pertinentes"), span_named(traces[0], "inner")
    assert inner["parent_id"] == outer["span_id"]
    assert inner["trace_id"] == outer["trace_id"]


def test_seed_style_manual_api_sends_the_span_only_at_finish(tracer):
    span = tracer.trace("operations.pertinentes")
    assert take_traces() == []
    span.finish()
    spans = take_spans()
    assert [s["name"] for s in spans] == ["operations.pertinentes"]
    assert spans[0]["duration"] >= 0


def test_seed_example_script_runs_unchanged():
    from tracer_helpers import run_script
    proc = run_script("""
        from ddtrace import tracer

        @tracer.wrap()
        def business_logic():
            '''Une méthode pertinente à tracer.'''

        business_logic()
        with tracer.trace('operations.pertinentes'):
            pass
        span = tracer.trace('operations.pertinentes')
        span.finish()
        from tracer_helpers import take_traces
        print(len(take_traces(tracer)))
    """)
    assert proc.stdout.strip().splitlines()[-1] == "3"
