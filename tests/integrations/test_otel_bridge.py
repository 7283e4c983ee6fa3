"""The OpenTelemetry bridge under real servers: Flask (gunicorn), FastAPI
(uvicorn) and Django (gunicorn, Django's WSGI handler) instrumented by
opentelemetry-instrumentation-* through ``ddtrace.opentelemetry.TracerProvider``
give one trace per request, with the view's manual ddtrace span and the OTel
span inside it in place and the log line correlated; the same apps under
real ddtrace 4.16 give the same trees but for the agent-style mapping."""
import importlib.util
import os
import re
import time
import urllib.request

import pytest

import differential
from differential import Server, assert_same_trees, free_port, run_script, wait_for_spans

APPS_DIR = os.path.join(differential.HERE, "apps")
MASK_64 = (1 << 64) - 1


def _gunicorn(module):
    return lambda port: ["gunicorn", "-w", "1", "-b", "127.0.0.1:%d" % port, module + ":app"]


APPS = {
    "flask": (_gunicorn("otel_flask"), "GET /users/<int:user_id>"),
    "fastapi": (lambda port: ["uvicorn", "--port", str(port), "otel_fastapi:app"], "GET /users/{user_id}"),
    "django": (_gunicorn("otel_django"), "GET users/<int:user_id>"),
}
LOG_LINE = re.compile(r"loading user (\d+) \[dd.trace_id=([0-9a-f]+) dd.span_id=(\d+)\]")
#: Spans per request: the server span, load_user, render (+ FastAPI's two
#: "http send" spans).
SPANS_PER_REQUEST = {"flask": 3, "fastapi": 5, "django": 3}


def serve(tracer, app, requests=3, env=None, wait_for_traces=True):
    """Runs the app under ``tracer`` (set up in the app's code, no
    ddtrace-run), sends GET /users/<i> for each request; the traces the
    recording agent got (none when ``env`` points the tracer elsewhere:
    ``wait_for_traces=False``) and the output."""
    argv, _ = APPS[app]
    port = free_port()
    env = dict({"PYTHONPATH": APPS_DIR}, **(env or {}))
    with Server(tracer, argv(port), port, env=env, ddtrace_run=False) as server:
        for user_id in range(requests):
            with urllib.request.urlopen("%s/users/%d" % (server.url, user_id), timeout=30) as reply:
                assert reply.status == 200
        if wait_for_traces:
            wait_for_spans(server, requests * SPANS_PER_REQUEST[app])
    return server.traces(), server.output


def _by_name(trace, name, field="name"):
    (span,) = [s for s in trace if s[field] == name]
    return span


@pytest.mark.parametrize("app", sorted(APPS))
def test_one_trace_per_request_with_manual_spans_inside_and_logs_correlated(app):
    traces, output = serve("ctrace", app)
    assert len(traces) == 3, [[s["name"] for s in t] for t in traces]
    logged = {int(m.group(1)): (int(m.group(2), 16), int(m.group(3)))
              for m in LOG_LINE.finditer(output)}
    for trace in traces:
        assert len({s["trace_id"] for s in trace}) == 1
        (root,) = [s for s in trace if not s["parent_id"]]
        assert root["name"] == "http.server.request" and root["type"] == "web"
        assert root["resource"] == APPS[app][1] and root["meta"]["span.kind"] == "server"
        load = _by_name(trace, "load_user")
        render = _by_name(trace, "render", field="resource")
        assert load["parent_id"] == root["span_id"], "the manual span is a child of the request"
        assert render["parent_id"] == load["span_id"], "an OTel span inside it is its child"
        assert render["name"] == "internal" and render["type"] == "custom"
        # The log line inside the manual span carries its ids.
        trace_id, span_id = logged[int(render["metrics"]["user.id"])]
        assert trace_id & MASK_64 == load["trace_id"] and span_id == load["span_id"]
        assert "%016x" % (trace_id >> 64) == root["meta"]["_dd.p.tid"]


#: Kept on purpose (README, "OpenTelemetry"): ctrace names and types OTel
#: spans as the Datadog agent maps OTLP spans; ddtrace 4.16 names a server
#: span "server" (its kind check compares a string with an enum) and leaves
#: every type empty.
_AGENT_NAMES = {"server": ("http.server.request", "web"), "internal": ("internal", "custom")}


def _as_agent_maps(traces):
    for trace in traces:
        for span in trace:
            if span["name"] in _AGENT_NAMES and not span.get("type"):
                span["name"], span["type"] = _AGENT_NAMES[span["name"]]
    return traces


@pytest.mark.parametrize("app", sorted(APPS))
def test_span_trees_match_real_ddtrace_with_the_same_instrumentation(app):
    # DD_TRACE_OTEL_ENABLED makes real ddtrace share its active span with
    # OTel's context (without it ddtrace's manual spans are orphans).
    env = {"DD_TRACE_OTEL_ENABLED": "true"}
    theirs, _ = serve("ddtrace", app, requests=1, env=env)
    ours, _ = serve("ctrace", app, requests=1, env=env)
    # Ports and the peer's port differ between the two runs.
    volatile = {"http.host", "net.host.name", "http.url", "http.server_name"}
    assert_same_trees(_as_agent_maps(theirs), ours, ignore_meta=volatile,
                      ignore_metrics={"net.host.port", "net.peer.port"})


def test_ddtrace_run_with_otel_enabled_installs_the_provider_and_context():
    code = """
        import opentelemetry.context
        from opentelemetry import trace
        from ddtrace import tracer
        otel = trace.get_tracer("script")
        with otel.start_as_current_span("outer", kind=trace.SpanKind.CLIENT,
                                        attributes={"db.system": "postgresql",
                                                    "db.statement": "SELECT 1"}):
            with tracer.trace("dd.child"):
                with otel.start_as_current_span("inner"):
                    pass
        # The entry point, found through OTEL_PYTHON_CONTEXT, not only the
        # provider's fallback.
        assert type(opentelemetry.context._RUNTIME_CONTEXT).__name__ == "DDRuntimeContext"
    """
    env = {"DD_TRACE_OTEL_ENABLED": "true"}
    (trace,) = run_script("ctrace", code, env=env)
    outer = _by_name(trace, "postgresql.query")
    child = _by_name(trace, "dd.child")
    inner = _by_name(trace, "internal")
    assert outer["resource"] == "SELECT 1" and outer["type"] == "sql"
    assert child["parent_id"] == outer["span_id"] and inner["parent_id"] == child["span_id"]
    (theirs,) = run_script("ddtrace", code, env=env)
    # ddtrace names the client span "client" and keeps the OTel name as
    # resource (see _AGENT_NAMES); the agent maps db.* as ctrace does.
    client = _by_name(theirs, "client")
    client["name"], client["resource"], client["type"] = "postgresql.query", "SELECT 1", "sql"
    assert_same_trees(_as_agent_maps([theirs]), [trace])


def _ctrace_agent(data_dir):
    """A real ctrace-agent, started by the agent tests' own helper."""
    spec = importlib.util.spec_from_file_location(
        "agent_harness", os.path.join(differential.ROOT, "tests", "agent", "agent_harness.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Agent(data_dir).start()


def test_ctrace_agent_counts_one_hit_per_request_of_an_otel_instrumented_app(tmp_path):
    """What broke the agent's service numbers: every OTel span its own
    trace, so three "hits" per request and the manual spans as resources."""
    agent = _ctrace_agent(tmp_path)
    try:
        serve("ctrace", "flask", requests=4, env={"DD_TRACE_AGENT_URL": agent.url},
              wait_for_traces=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            services = {s["service"]: s for s in agent.api("/api/v1/services")["services"]}
            if services.get("diff-app", {}).get("hits") == 4:
                break
            time.sleep(0.2)
        assert services["diff-app"]["hits"] == 4 and services["diff-app"]["errors"] == 0
        resources = agent.api("/api/v1/services/diff-app/resources")["resources"]
        assert [(r["resource"], r["hits"]) for r in resources] == [(APPS["flask"][1], 4)]
    finally:
        agent.stop()
