"""ddtrace.opentelemetry.TracerProvider: code written against the
OpenTelemetry API produces ctrace spans, in one trace with ddtrace-API
spans; OTel's current context and ctrace's active span are one; tracestate
crosses the bridge both ways; names, resources and types are mapped as the
Datadog agent maps OTLP spans."""
import importlib.metadata
import json

import pytest

otel_trace = pytest.importorskip("opentelemetry.trace")

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags  # noqa: E402
from opentelemetry.trace import TraceState  # noqa: E402
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: E402

from ddtrace.propagation.http import HTTPPropagator  # noqa: E402

from ddtrace.opentelemetry import TracerProvider  # noqa: E402
from tracer_helpers import span_named, take_spans  # noqa: E402


@pytest.fixture
def otel(tracer):
    return TracerProvider().get_tracer("tests")


def test_otel_and_ddtrace_spans_share_one_trace(tracer, otel):
    with tracer.trace("dd.root") as root:
        with otel.start_as_current_span("GET /users", kind=SpanKind.SERVER,
                                        attributes={"http.request.method": "GET",
                                                    "http.route": "/users"}) as server:
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


def test_use_span_makes_the_otel_span_the_parent_of_ddtrace_spans(tracer, otel):
    span = otel.start_span("request", kind=SpanKind.SERVER)
    with otel_trace.use_span(span, end_on_exit=True):
        assert tracer.current_span() is span._ddspan
        with tracer.trace("manual") as manual:
            # ...and the ddtrace span is what OTel code sees as current
            current = otel_trace.get_current_span()
            assert current.get_span_context().span_id == manual.span_id
            otel.start_span("from.otel").end()
    assert tracer.current_span() is None
    spans = take_spans(tracer)
    assert len({s["trace_id"] for s in spans}) == 1
    assert span_named(spans, "manual")["parent_id"] == span.get_span_context().span_id
    assert span_named(spans, "internal")["parent_id"] == manual.span_id


def test_attach_of_a_remote_context_parents_ddtrace_spans_and_detach_restores(tracer):
    remote = SpanContext(trace_id=0xAB, span_id=0xCD, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with tracer.trace("before") as before:
        token = otel_context.attach(otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(remote)))
        with tracer.trace("child") as child:
            pass
        otel_context.detach(token)
        assert tracer.current_span() is before
    assert child.trace_id == 0xAB and child.parent_id == 0xCD


def test_attach_of_a_context_without_span_leaves_nothing_current(tracer):
    with tracer.trace("outer") as outer:
        token = otel_context.attach(otel_context.Context())
        assert tracer.current_span() is None
        assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN
        otel_context.detach(token)
        assert tracer.current_span() is outer


def test_context_values_other_than_the_span_are_kept(tracer, otel):
    key = otel_context.create_key("suppress")
    with otel.start_as_current_span("outer"):
        token = otel_context.attach(otel_context.set_value(key, True))
        with tracer.trace("inside"):
            assert otel_context.get_value(key) is True
        otel_context.detach(token)
    take_spans(tracer)


def test_otel_propagator_injects_dd_member_and_keeps_vendor_entries(tracer, otel):
    carrier = {"traceparent": "00-%032x-%016x-01" % (0x1234, 0x5678),
               "tracestate": "dd=s:2;o:rum;t.usr:abc,vendor=xyz"}
    propagator = TraceContextTextMapPropagator()
    with otel.start_as_current_span("server", context=propagator.extract(carrier)) as span:
        out = {}
        propagator.inject(out)
    state = TraceState.from_header([out["tracestate"]])
    assert state["vendor"] == "xyz"
    dd = dict(item.split(":", 1) for item in state["dd"].split(";"))
    assert dd["s"] == "2" and dd["o"] == "rum" and dd["t.usr"] == "abc"
    assert dd["p"] == "%016x" % span.get_span_context().span_id
    assert out["traceparent"].startswith("00-%032x-" % 0x1234)
    sent = span_named(take_spans(tracer), "internal")
    assert sent["metrics"]["_sampling_priority_v1"] == 2 and sent["meta"]["_dd.origin"] == "rum"


def test_ddtrace_propagator_keeps_vendor_entries_of_an_otel_remote_parent(tracer, otel):
    state = TraceState([("dd", "s:1;t.dm:-4"), ("other", "v1")])
    remote = SpanContext(0x99, 0x77, is_remote=True, trace_flags=TraceFlags(1), trace_state=state)
    context = otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(remote))
    with otel.start_as_current_span("child", context=context) as span:
        headers = {}
        HTTPPropagator.inject(span._ddspan, headers)
    assert headers["tracestate"].endswith(",other=v1") and "t.dm:-4" in headers["tracestate"]
    take_spans(tracer)


@pytest.mark.parametrize("kind, attributes, name, resource, span_type", [
    (SpanKind.SERVER, {"http.method": "GET", "http.route": "/users/{id}"},
     "http.server.request", "GET /users/{id}", "web"),
    (SpanKind.CLIENT, {"http.request.method": "_OTHER", "http.route": "/x"},
     "http.client.request", "HTTP", "http"),
    (SpanKind.CLIENT, {"db.system": "postgresql", "db.statement": "SELECT * FROM t"},
     "postgresql.query", "SELECT * FROM t", "sql"),
    (SpanKind.CLIENT, {"db.system": "redis", "db.query.text": "GET k"}, "redis.query", "GET k", "redis"),
    (SpanKind.CLIENT, {"db.system": "neo4j"}, "neo4j.query", "otel-name", "db"),
    (SpanKind.PRODUCER, {"messaging.system": "kafka", "messaging.operation": "publish",
                         "messaging.destination.name": "orders"},
     "kafka.publish", "publish orders", "custom"),
    (SpanKind.SERVER, {"rpc.system": "grpc", "rpc.method": "Get", "rpc.service": "Users"},
     "grpc.server.request", "Get Users", "web"),
    (SpanKind.INTERNAL, {"operation.name": "my.op", "resource.name": "my-resource",
                         "span.type": "worker"}, "my.op", "my-resource", "worker"),
    (SpanKind.INTERNAL, {}, "internal", "otel-name", "custom"),
])
def test_name_resource_and_type_mapped_as_the_datadog_agent_maps_otlp(
        tracer, otel, kind, attributes, name, resource, span_type):
    otel.start_span("otel-name", kind=kind, attributes=attributes).end()
    (sent,) = take_spans(tracer)
    assert (sent["name"], sent["resource"], sent["type"]) == (name, resource, span_type)
    assert sent["meta"].get("span.kind") == (None if kind == SpanKind.INTERNAL else kind.name.lower())


def test_the_runtime_context_is_registered_as_an_entry_point():
    (entry,) = importlib.metadata.entry_points(group="opentelemetry_context",
                                               name="ddcontextvars_context")
    from ddtrace._otel_context import DDRuntimeContext
    assert entry.load() is DDRuntimeContext


def test_otel_enabled_at_ddtrace_run_sets_the_provider():
    from tracer_helpers import run_script
    proc = run_script("""
        from ddtrace import _bootstrap
        _bootstrap.install()
        import opentelemetry.context
        from opentelemetry import trace
        print(type(trace.get_tracer_provider()).__module__,
              type(opentelemetry.context._RUNTIME_CONTEXT).__name__)
    """, env={"DD_TRACE_OTEL_ENABLED": "true"})
    assert proc.stdout.split() == ["ddtrace.opentelemetry", "DDRuntimeContext"]


def test_asyncio_tasks_each_keep_their_own_current_span(tracer, otel):
    import asyncio

    async def handle(name):
        with otel.start_as_current_span(name) as span:
            await asyncio.sleep(0.01)  # the other task runs meanwhile
            with tracer.trace("work." + name) as work:
                await asyncio.sleep(0.01)
            return span.get_span_context().span_id, work.parent_id

    async def main():
        return await asyncio.gather(handle("a"), handle("b"))

    for span_id, parent_id in asyncio.run(main()):
        assert span_id == parent_id
    take_spans(tracer)


def test_odd_contexts_never_raise_into_the_caller(tracer):
    class Weird(otel_trace.Span):  # a foreign span whose context breaks
        def get_span_context(self):
            raise RuntimeError("broken span")

        def end(self, end_time=None): pass
        def is_recording(self): return True
        def set_attributes(self, attributes): pass
        def set_attribute(self, key, value): pass
        def add_event(self, name, attributes=None, timestamp=None): pass
        def update_name(self, name): pass
        def set_status(self, status, description=None): pass
        def record_exception(self, exception, attributes=None, timestamp=None, escaped=False): pass

    with tracer.trace("outer"):
        for context in (otel_trace.set_span_in_context(Weird()), otel_context.Context({"x": object()})):
            token = otel_context.attach(context)
            otel_context.get_current()
            otel_context.detach(token)
        assert tracer.current_span().name == "outer"
    take_spans(tracer)


W3C_SCRIPT = r'''
import json, sys
from ddtrace.opentelemetry import TracerProvider
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
trace.set_tracer_provider(TracerProvider())
otel = trace.get_tracer("t")
propagator = TraceContextTextMapPropagator()
results = []
for carrier in json.load(sys.stdin):
    with otel.start_as_current_span("s", context=propagator.extract(carrier)) as span:
        out = {}
        propagator.inject(out)
        own = "%016x" % span.get_span_context().span_id
    results.append({k: v.replace(own, "<span>") for k, v in out.items()})
print(json.dumps(results))
'''
W3C_CARRIERS = [
    {"traceparent": "00-%032x-%016x-01" % (0x1234, 0x5678),
     "tracestate": "dd=s:2;o:rum;t.usr:abc,vendor=xyz"},
    {"traceparent": "00-%032x-%016x-00" % (0xABCD, 0x99), "tracestate": "dd=s:-1;p:0000000000000099,a=1,b=2"},
    {"traceparent": "00-%032x-%016x-01" % (0x77, 0x88), "tracestate": "other=v"},
]


def test_otel_propagators_see_the_tracestate_ddtrace_gives_them():
    """One snippet under real ddtrace and ctrace: OTel's W3C propagator
    extracts a parent (dd= and vendors' entries), a span continues it, the
    propagator injects: the same traceparent and tracestate come out."""
    import os
    import subprocess
    import sys
    from test_propagation import DDTRACE_PYTHON

    def run(python):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "_CT_"))}
        env.update(DD_TRACE_OTEL_ENABLED="true", DD_TRACE_AGENT_URL="http://127.0.0.1:9")
        proc = subprocess.run([python, "-c", W3C_SCRIPT], input=json.dumps(W3C_CARRIERS), env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.splitlines()[-1])
    ours = run(sys.executable)
    assert ours == run(DDTRACE_PYTHON)
    assert ours[0]["tracestate"].endswith(",vendor=xyz") and "o:rum" in ours[0]["tracestate"]


def test_otel_baggage_reaches_ctrace_propagation_and_back(tracer, otel):
    from opentelemetry import baggage
    with otel.start_as_current_span("server") as server:
        token = otel_context.attach(baggage.set_baggage("user", "42"))
        with tracer.trace("client") as client:
            headers = {}
            HTTPPropagator.inject(client, headers)
            assert baggage.get_all() == {"user": "42"}  # seen from a ddtrace span too
        otel_context.detach(token)
    assert headers["baggage"] == "user=42" and server.is_recording() is False
    context = HTTPPropagator.extract({"traceparent": "00-%032x-%016x-01" % (5, 6), "baggage": "k=v"})
    tracer.context_provider.activate(context)
    assert baggage.get_all() == {"k": "v"}
    assert otel_trace.get_current_span().get_span_context().span_id == 6
    tracer.context_provider.activate(None)
    take_spans(tracer)


def test_sequences_are_flattened_and_the_response_status_is_mapped(tracer, otel):
    span = otel.start_span("x", kind=SpanKind.SERVER)
    span.set_attribute("http.response.status_code", 503)
    span.set_attribute("tags", ["a", "b"])
    span.set_attribute("ports", (80, 443))
    span.end()
    (sent,) = take_spans(tracer)
    assert sent["meta"]["http.status_code"] == "503" and "http.response.status_code" not in sent["meta"]
    assert sent["meta"]["tags.0"] == "a" and sent["meta"]["tags.1"] == "b"
    assert sent["metrics"]["ports.0"] == 80 and sent["metrics"]["ports.1"] == 443
