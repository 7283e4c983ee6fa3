"""Configuration from the environment (DD_SERVICE, DD_ENV, DD_VERSION,
DD_TAGS, DD_TRACE_ENABLED, DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED,
partial flush) and the tags the tracer adds, each where ddtrace 4.16 puts
them (checked with .venv-ddtrace by capturing what its writer received)."""
import os

import pytest

from tracer_helpers import run_script, run_traces, span_named, take_traces

ENV = {"DD_SERVICE": "app", "DD_ENV": "prod", "DD_VERSION": "1.2"}


def _spans(traces):
    return [s for t in traces for s in t]


def test_dd_service_is_the_default_service():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("op"):
            with tracer.trace("child"):
                pass
    """, {"DD_SERVICE": "my-app"}))
    assert {s["service"] for s in spans} == {"my-app"}
    assert all("_dd.base_service" not in s["meta"] for s in spans)


def test_dd_env_is_on_every_span():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("child", service="other"):
                pass
    """, ENV))
    assert all(s["meta"]["env"] == "prod" for s in spans)


def test_dd_version_is_on_spans_of_the_app_service_only():
    # ddtrace 4.16 tracer.py _start_span: version on a root whose service
    # is DD_SERVICE, and on children of such a root with the same service.
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("child"):
                pass
        with tracer.trace("foreign", service="other"):
            pass
    """, ENV))
    assert span_named(spans, "root")["meta"]["version"] == "1.2"
    assert span_named(spans, "child")["meta"]["version"] == "1.2"
    assert "version" not in span_named(spans, "foreign")["meta"]


def test_dd_version_when_the_service_is_passed_explicitly_equal_to_dd_service():
    # ddtrace 4.16 compares service names (`service == config.service`),
    # so trace("x", service="app") with DD_SERVICE=app has version
    # (seen with .venv-ddtrace: span "a" service="app" got version 1.2).
    spans = _spans(run_traces("""
        from ddtrace import tracer
        service = "".join(["a", "p", "p"])  # not the same str object
        with tracer.trace("explicit", service=service):
            pass
    """, ENV))
    assert span_named(spans, "explicit")["meta"].get("version") == "1.2"


def test_runtime_id_and_process_id_are_on_local_roots_only():
    traces = run_traces("""
        from ddtrace import tracer
        from ddtrace.trace import Context
        with tracer.trace("root"):
            with tracer.trace("child"):
                pass
        remote = tracer.start_span("remote-root", child_of=Context(trace_id=5, span_id=6))
        remote.finish()
    """, ENV)
    spans = _spans(traces)
    for name in ("root", "remote-root"):
        s = span_named(spans, name)
        runtime_id = s["meta"]["runtime-id"]
        assert len(runtime_id) == 32 and int(runtime_id, 16) >= 0
        assert isinstance(s["metrics"]["process_id"], float) and s["metrics"]["process_id"] > 0
    child = span_named(spans, "child")
    assert "runtime-id" not in child["meta"] and "process_id" not in child["metrics"]
    assert span_named(spans, "root")["meta"]["runtime-id"] == span_named(spans, "remote-root")["meta"]["runtime-id"]


def test_top_level_on_roots_and_on_service_changes():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("same"):
                pass
            with tracer.trace("other", service="db"):
                with tracer.trace("db-child"):
                    pass
    """, ENV))
    assert span_named(spans, "root")["metrics"]["_dd.top_level"] == 1
    assert span_named(spans, "other")["metrics"]["_dd.top_level"] == 1
    assert "_dd.top_level" not in span_named(spans, "same")["metrics"]
    assert "_dd.top_level" not in span_named(spans, "db-child")["metrics"]


def test_top_level_follows_a_service_name_tag_set_while_running():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("child") as child:
                child.set_tag("service.name", "renamed")
    """, ENV))
    child = span_named(spans, "child")
    assert child["service"] == "renamed"
    assert child["metrics"]["_dd.top_level"] == 1
    assert child["meta"]["_dd.base_service"] == "app"


def test_language_sampling_priority_and_decision_maker_on_the_chunk_first_span_only():
    traces = run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("child"):
                pass
    """, ENV)
    first, child = traces[0][0], traces[0][1]
    assert first["name"] == "root"
    assert first["meta"]["language"] == "python"
    assert first["metrics"]["_sampling_priority_v1"] == 1
    assert first["meta"]["_dd.p.dm"] == "-0"
    assert "language" not in child["meta"]
    assert "_sampling_priority_v1" not in child["metrics"]


def test_base_service_on_spans_whose_service_differs_from_dd_service():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("db", service="postgres"):
                pass
        with tracer.trace("foreign-root", service="other"):
            pass
    """, ENV))
    assert "_dd.base_service" not in span_named(spans, "root")["meta"]
    assert span_named(spans, "db")["meta"]["_dd.base_service"] == "app"
    assert span_named(spans, "foreign-root")["meta"]["_dd.base_service"] == "app"


@pytest.mark.parametrize("dd_tags", ["team:core,tier:gold", "team:core tier:gold",
                                     " team:core , tier:gold "])
def test_dd_tags_forms_are_on_every_span(dd_tags):
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            with tracer.trace("child"):
                pass
    """, {"DD_TAGS": dd_tags}))
    for s in spans:
        assert s["meta"]["team"] == "core" and s["meta"]["tier"] == "gold"


def test_dd_tags_with_colons_in_the_value_keeps_the_rest():
    spans = _spans(run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            pass
    """, {"DD_TAGS": "url:http://x:80,ok:1"}))
    assert spans[0]["meta"]["url"] == "http://x:80"


def test_dd_trace_enabled_false_creates_spans_but_sends_nothing():
    proc = run_script("""
        from ddtrace import tracer
        from tracer_helpers import take_traces
        assert tracer.enabled is False
        with tracer.trace("quiet") as span:
            assert tracer.current_span() is span
        assert span.finished
        print(len(take_traces(tracer)))
    """, {"DD_TRACE_ENABLED": "false"})
    assert proc.stdout.strip().splitlines()[-1] == "0"


def test_128_bit_trace_ids_can_be_disabled():
    proc = run_script("""
        import json
        from ddtrace import tracer
        from tracer_helpers import take_traces
        with tracer.trace("root") as span:
            pass
        print(json.dumps([span.trace_id, take_traces(tracer)]))
    """, {"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "false"})
    import json
    trace_id, traces = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 0 < trace_id < 2 ** 64
    assert traces[0][0]["trace_id"] == trace_id
    assert "_dd.p.tid" not in traces[0][0]["meta"]


def test_invalid_settings_are_ignored_without_failing():
    traces = run_traces("""
        from ddtrace import tracer
        with tracer.trace("root"):
            pass
    """, {"DD_TRACE_ENABLED": "maybe", "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "2",
          "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS": "-5", "DD_TAGS": ",,:,::,novalue,"})
    assert len(traces) == 1 and traces[0][0]["name"] == "root"


def test_partial_flush_sends_finished_spans_of_a_long_trace_early():
    proc = run_script("""
        import json
        from ddtrace import tracer
        from tracer_helpers import take_traces
        root = tracer.trace("root")
        for i in range(12):
            with tracer.trace("child"):
                pass
        early = take_traces(tracer)
        root.finish()
        late = take_traces(tracer)
        print(json.dumps([early, late]))
    """, {"DD_TRACE_PARTIAL_FLUSH_MIN_SPANS": "5"})
    import json
    early, late = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sum(len(t) for t in early) >= 10
    first = early[0][0]
    assert first["metrics"]["_dd.py.partial_flush"] == 5
    assert "_dd.p.tid" in first["meta"]
    names = [s["name"] for t in early + late for s in t]
    assert sorted(names) == ["child"] * 12 + ["root"]


def test_partial_flush_disabled_keeps_the_trace_whole():
    proc = run_script("""
        import json
        from ddtrace import tracer
        from tracer_helpers import take_traces
        with tracer.trace("root"):
            for i in range(20):
                with tracer.trace("child"):
                    pass
            early = take_traces(tracer)
        print(json.dumps([early, take_traces(tracer)]))
    """, {"DD_TRACE_PARTIAL_FLUSH_MIN_SPANS": "5", "DD_TRACE_PARTIAL_FLUSH_ENABLED": "false"})
    import json
    early, late = json.loads(proc.stdout.strip().splitlines()[-1])
    assert early == [] and len(late) == 1 and len(late[0]) == 21


def test_tracer_set_tags_drops_nan_and_keeps_huge_ints_as_strings_like_span_set_tag():
    # Span.set_tag routing (ddtrace 4.16): 2**64 -> meta str, NaN dropped.
    spans = _spans(run_traces("""
        from ddtrace import tracer
        tracer.set_tags({"huge": 2 ** 64, "nan": float("nan"), "f": 0.5})
        with tracer.trace("op"):
            pass
    """))
    s = spans[0]
    assert s["meta"].get("huge") == str(2 ** 64) and "huge" not in s["metrics"]
    assert "nan" not in s["meta"] and "nan" not in s["metrics"]
    assert s["metrics"]["f"] == 0.5
