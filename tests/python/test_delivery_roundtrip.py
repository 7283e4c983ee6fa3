"""Round trip: what a script creates arrives, decoded with the msgpack
package, field for field, over /v0.5 (default) and /v0.4."""
import json

import pytest

from delivery_helpers import last_json, run_traced
from recording_agent import RecordingAgent

HUGE = "x" * 100_000

SCRIPT = r'''
import json
from ddtrace import tracer
HUGE = "x" * 100_000
created = []
with tracer.trace("web.request", service="svc", resource="GET /é", span_type="web") as root:
    root.set_tag("unicode", "h\u00e9llo \u20ac \U0001F600")
    root.set_tag("empty", "")
    root.set_tag("huge", HUGE)
    root.set_metric("ratio", 0.25)
    with tracer.trace("child") as child:
        child.set_tag("k", "v")
        child.set_link(trace_id=(1 << 64) + 5, span_id=7, tracestate="dd=s:1",
                       flags=1, attributes={"x": "y"})
        try:
            with tracer.trace("failing"):
                raise ValueError("boom")
        except ValueError:
            pass
    created = [root.trace_id, root.span_id, child.span_id]
tracer.flush()
print(json.dumps({"trace_id": created[0], "root": created[1], "child": created[2],
                  "stats": tracer._stats()}))
'''


@pytest.mark.parametrize("version", ["v0.5", "v0.4"])
def test_round_trip_of_every_field(version):
    with RecordingAgent() as agent:
        proc = run_traced(SCRIPT, agent.url, {"DD_TRACE_API_VERSION": version})
        report = last_json(proc)
        assert {p["path"] for p in agent.payloads} == {"/%s/traces" % version}
        traces = agent.traces()
    assert len(traces) == 1 and len(traces[0]) == 3
    spans = {s["name"]: s for s in traces[0]}
    root, child, failing = spans["web.request"], spans["child"], spans["failing"]

    trace_id = report["trace_id"]
    assert trace_id >= 1 << 64, "128-bit trace ids are the default"
    for span in traces[0]:
        assert span["trace_id"] == trace_id & (2**64 - 1)
    assert root["meta"]["_dd.p.tid"] == "%016x" % (trace_id >> 64)
    assert root["span_id"] == report["root"] and root["parent_id"] == 0
    assert child["span_id"] == report["child"] and child["parent_id"] == root["span_id"]
    assert failing["parent_id"] == child["span_id"]

    assert (root["service"], root["resource"], root["type"]) == ("svc", "GET /é", "web")
    assert root["meta"]["unicode"] == "h\u00e9llo \u20ac \U0001F600"
    assert root["meta"]["empty"] == ""
    assert root["meta"]["huge"] == HUGE[:24997] + "..."  # the 25,000-byte limit
    assert root["metrics"]["ratio"] == 0.25
    assert isinstance(root["metrics"]["_sampling_priority_v1"], float)
    assert root["meta"]["language"] == "python"
    assert failing["error"] == 1 and failing["meta"]["error.type"].endswith("ValueError")
    assert failing["meta"]["error.message"] == "boom"
    assert root["error"] == 0 and root["duration"] > 0 and root["start"] > 1.6e18

    if version == "v0.5":
        links = json.loads(child["meta"]["_dd.span_links"])
        assert links == [{"trace_id": "00000000000000010000000000000005",
                          "span_id": "0000000000000007", "attributes": {"x": "y"},
                          "tracestate": "dd=s:1", "flags": 1}]
    else:
        assert child["span_links"] == [{"trace_id": 5, "trace_id_high": 1, "span_id": 7,
                                        "attributes": {"x": "y"}, "tracestate": "dd=s:1",
                                        "flags": 1 | 1 << 31}]
    stats = report["stats"]
    assert stats["traces_sent"] == 1 and stats["spans_sent"] == 3
    assert stats["traces_dropped"] == 0 and stats["spans_buffered"] == 0


def test_headers_are_ddtraces():
    with RecordingAgent() as agent:
        run_traced(SCRIPT, agent.url)
        headers = agent.payloads[0]["headers"]
    assert headers["Content-Type"] == "application/msgpack"
    assert headers["X-Datadog-Trace-Count"] == "1"
    assert headers["Datadog-Meta-Lang"] == "python"
    assert headers["Datadog-Meta-Lang-Interpreter"] == "CPython"
    assert headers["Datadog-Meta-Lang-Version"].count(".") == 2
    assert headers["Datadog-Meta-Tracer-Version"]
    assert headers["Datadog-Client-Computed-Top-Level"] == "yes"


def test_many_traces_one_connection_kept_alive():
    code = '''
    import time
    from ddtrace import tracer
    for i in range(20):
        with tracer.trace("op", resource="r%d" % i):
            pass
        tracer.flush()
    '''
    with RecordingAgent() as agent:
        run_traced(code, agent.url)
        assert len(agent.spans()) == 20
        ports = {r[3].get("Host") for r in agent.requests}
    assert len(agent.requests) == 20 and len(ports) == 1


def test_debug_logs_one_line_per_payload():
    code = '''
    from ddtrace import tracer
    with tracer.trace("op"):
        pass
    tracer.flush()
    '''
    with RecordingAgent() as agent:
        proc = run_traced(code, agent.url, {"DD_TRACE_DEBUG": "true"})
    lines = [l for l in proc.stderr.splitlines() if l.startswith("ctrace: sent")]
    assert len(lines) == 1 and "1 traces (1 spans" in lines[0] and "HTTP 200" in lines[0]


def test_disabled_tracer_sends_nothing():
    code = '''
    from ddtrace import tracer
    for i in range(10):
        with tracer.trace("op"):
            pass
    tracer.flush()
    '''
    with RecordingAgent() as agent:
        run_traced(code, agent.url, {"DD_TRACE_ENABLED": "false"})
        assert agent.requests == []


def test_unix_socket(tmp_path):
    import http.server, socketserver, threading
    from recording_agent import _Handler
    path = str(tmp_path / "apm.socket")

    class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    class Handler(_Handler):
        def address_string(self):
            return "unix"

    agent = RecordingAgent()
    server = UnixServer(path, Handler)
    server.agent = agent
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run_traced('''
        from ddtrace import tracer
        with tracer.trace("over.unix"):
            pass
        tracer.flush()
        ''', "unix://" + path)
        assert [s["name"] for s in agent.spans()] == ["over.unix"]
    finally:
        server.shutdown()
        server.server_close()
