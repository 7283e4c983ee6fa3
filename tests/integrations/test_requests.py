"""HTTP clients (requests, urllib3), real ddtrace 4.16 against ctrace: the
same script calling a loopback server (200, 404, 503, a refused
connection, split_by_domain, urllib3 under requests and alone); then two
services chained, requests -> Flask, in every propagation style."""
import json
import subprocess

import pytest

import differential
from differential import assert_same_trees
from web import PROPAGATED_TID, gunicorn

CLIENT = r'''
import http.server, os, sys, threading
import requests, urllib3
from ddtrace import config, patch
patch(urllib3=True)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(self.path.split("/")[2].split("?")[0])
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    do_POST = do_GET
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%s" % os.environ["PORT"]
requests.get(base + "/code/200?token=secret&page=2")
requests.get(base + "/code/404")
requests.get(base + "/code/503")
requests.Session().post(base + "/code/201", data=b"body")
try:
    requests.get("http://127.0.0.1:%s/refused" % os.environ["DEAD_PORT"], timeout=5)
except requests.ConnectionError:
    pass
config.requests["split_by_domain"] = True
requests.get("http://user:pw@127.0.0.1:%s/code/200" % os.environ["PORT"])
config.requests["split_by_domain"] = False
urllib3.PoolManager().request("GET", base + "/code/200?a=1")
server.shutdown()
'''


def test_client_spans_are_ddtraces():
    env = {"PORT": str(differential.free_port()), "DEAD_PORT": str(differential.free_port())}
    # no agent rates: see web.gunicorn
    theirs = differential.run_script("ddtrace", CLIENT, env, rates={})
    ours = differential.run_script("ctrace", CLIENT, env, rates={})
    assert len(ours) == 7
    assert_same_trees(theirs, ours, ignore_meta=PROPAGATED_TID)


def test_client_errors_follow_ddtraces_rule():
    env = {"PORT": str(differential.free_port()), "DEAD_PORT": str(differential.free_port())}
    spans = [s for t in differential.run_script("ctrace", CLIENT, env) for s in t]
    by_status = {s["meta"].get("http.status_code"): s for s in spans if s["name"] == "requests.request"}
    assert by_status["503"]["error"] == 1 and by_status["404"]["error"] == 0
    refused = [s for s in spans if s["resource"] == "GET /refused"][0]
    assert refused["error"] == 1 and refused["meta"]["error.type"] == "requests.exceptions.ConnectionError"
    split = [s for s in spans if s["name"] == "requests.request" and s["service"] != "requests"]
    assert [s["service"] for s in split] == ["127.0.0.1:%s" % env["PORT"]]
    assert "user:pw" not in split[0]["meta"]["http.url"]


CALLER = r'''
import os, requests
from ddtrace import tracer
with tracer.trace("caller", service="caller"):
    reply = requests.get(os.environ["DOWNSTREAM"] + "/users/9", timeout=10)
assert reply.status_code == 200, reply.status_code
'''


@pytest.fixture(scope="module")
def downstream():
    """A Flask service extracting every style, for the chained calls."""
    env = {"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "datadog,tracecontext,b3multi,b3"}
    with gunicorn("ctrace", "flask_app:app", env=env) as server:
        yield server


@pytest.mark.parametrize("style", ["datadog", "tracecontext", "b3multi", "b3"])
def test_requests_to_flask_is_one_trace_in_every_style(downstream, style):
    before = {s["span_id"] for t in downstream.traces() for s in t}
    caller = differential.run_script("ctrace", CALLER, {"DOWNSTREAM": downstream.url,
                                                       "DD_TRACE_PROPAGATION_STYLE_INJECT": style})
    client = [s for t in caller for s in t if s["name"] == "requests.request"]
    assert len(client) == 1
    traces = differential.wait_for_spans(downstream, len(before) + 13)
    roots = [s for t in traces for s in t if s["name"] == "flask.request" and s["span_id"] not in before]
    assert len(roots) == 1
    root = roots[0]
    assert root["parent_id"] == client[0]["span_id"]
    assert root["trace_id"] == client[0]["trace_id"]
    if style != "b3":   # b3 single header carries 128-bit ids as well, checked by the low half above
        assert root["meta"].get("_dd.p.tid") == [s for t in caller for s in t if s["parent_id"] == 0][0]["meta"]["_dd.p.tid"]


SEND_HEADERS = r'''
import json, os, requests
reply = requests.get(os.environ["DOWNSTREAM"] + "/headers", timeout=10)
print(json.dumps(reply.json()))
'''
PROPAGATION = ("x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags",
               "traceparent", "tracestate")


def sent_headers(tracer, downstream):
    with differential.RecordingAgent() as agent:
        proc = subprocess.run([differential.bin_path(tracer, "ddtrace-run"), differential.bin_path(tracer, "python"),
                               "-c", SEND_HEADERS], env=differential.tracer_env(agent, {"DOWNSTREAM": downstream.url}),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        spans = [s for t in differential.wait_for_spans(agent, 1) for s in t]
    return json.loads(proc.stdout.strip().splitlines()[-1]), spans


def test_default_styles_inject_the_headers_ddtrace_injects(downstream):
    theirs, _ = sent_headers("ddtrace", downstream)
    ours, spans = sent_headers("ctrace", downstream)
    assert {h for h in theirs if h in PROPAGATION} == {h for h in ours if h in PROPAGATION} == set(PROPAGATION)
    client = [s for s in spans if s["name"] == "requests.request"][0]
    assert ours["x-datadog-parent-id"] == str(client["span_id"])
    assert ours["traceparent"].split("-")[2] == "%016x" % client["span_id"]
    assert "dd=" in ours["tracestate"]
