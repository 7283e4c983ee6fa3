"""Bad input against a traced Flask app under gunicorn (ctrace): malformed
propagation headers, a huge URL and header, paths that are not UTF-8;
each request is answered as the untraced app would answer it and traced
as a trace of its own. Then, in one process, a view's exception reaches
the server unchanged and a failure of the tracing code costs spans, not
the request."""
import socket

import pytest

import differential
from web import gunicorn, request, run_in_ctrace

MALFORMED = [
    {"x-datadog-trace-id": "not-a-number", "x-datadog-parent-id": "-5", "x-datadog-sampling-priority": "x"},
    {"traceparent": "00-zzzz-yyyy-01", "tracestate": "dd=" + "s:1;" * 2000},
    {"b3": "garbage-garbage-garbage"},
    {"x-b3-traceid": "1" * 300, "x-b3-spanid": "", "x-b3-sampled": "maybe"},
    {"x-datadog-trace-id": "1" * 100, "x-datadog-parent-id": "2" * 100},
]


@pytest.fixture(scope="module")
def server():
    env = {"DD_TRACE_HEADER_TAGS": "x-huge:huge.header"}
    with gunicorn("ctrace", "flask_app:app", env=env) as running:
        yield running


def new_roots(server, before, count):
    traces = differential.wait_for_spans(server, len(before) + count)
    return [s for t in traces for s in t if s["name"] == "flask.request" and s["span_id"] not in before]


def seen(server):
    return {s["span_id"] for t in server.traces() for s in t}


@pytest.mark.parametrize("headers", MALFORMED, ids=lambda h: ",".join(h))
def test_malformed_propagation_headers_start_a_new_trace(server, headers):
    before = seen(server)
    assert request(server, "/users/1", headers)[0] == 200
    roots = new_roots(server, before, 13)
    assert len(roots) == 1 and roots[0]["parent_id"] == 0


def test_huge_url_and_header_are_answered_and_traced(server):
    before = seen(server)
    path = "/users/2?q=" + "a" * 3800
    assert request(server, path, {"x-huge": "h" * 7000})[0] == 200
    root = new_roots(server, before, 13)[0]
    assert root["meta"]["http.url"].endswith("a" * 100)
    assert root["meta"]["huge.header"] == "h" * 7000


def raw_request(server, path: bytes) -> int:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


# (raw bytes above 0x7f in the request line gunicorn itself refuses with
# 400 before any app runs; test_wsgi passes such a path to the middleware)
@pytest.mark.parametrize("path", [b"/users/%FF%FE", b"/caf%E9/%ff", b"/users/%C3%28"])
def test_paths_that_are_not_utf8_are_answered_and_traced(server, path):
    before = seen(server)
    assert raw_request(server, path) == 404
    roots = new_roots(server, before, 9)
    assert len(roots) == 1 and roots[0]["resource"] == "GET 404"
    assert roots[0]["meta"]["http.status_code"] == "404"


FLASK_CONTRACT = r'''
import json
import ddtrace
ddtrace.patch(flask=True)
import flask
from ddtrace import tracer
from ddtrace.contrib import _safety, trace_utils

class Boom(Exception):
    pass

raised = Boom("mine")
app = flask.Flask("contract")
app.config["PROPAGATE_EXCEPTIONS"] = True

@app.route("/fail")
def fail():
    raise raised

@app.route("/ok")
def ok():
    return "fine"

out = {}
try:
    app.test_client().get("/fail")
except Boom as exc:
    out["same_exception"] = exc is raised

def broken(*args, **kwargs):
    raise RuntimeError("a bug in the tracing code")
trace_utils.set_http_meta = broken
reply = app.test_client().get("/ok")
out["answer_when_broken"] = [reply.status_code, reply.get_data(as_text=True)]
out["errors"] = _safety.errors["flask"] > 0
tracer.flush()
print(json.dumps(out))
'''


def test_flask_view_exception_propagates_unchanged_and_tracing_failures_do_not():
    out, stderr, spans = run_in_ctrace(FLASK_CONTRACT, spans=20)
    assert out == {"same_exception": True, "answer_when_broken": [200, "fine"], "errors": True}
    assert stderr.count("the flask integration failed") == 1
    failed = [s for s in spans if s["name"] == "flask.request" and s["meta"].get("http.url", "").endswith("/fail")]
    assert failed and failed[0]["error"] == 1
    assert failed[0]["meta"]["error.type"].endswith("Boom")
