"""Flask under gunicorn, real ddtrace 4.16 against ctrace: the same app,
the same requests over loopback, the span trees compared field by field;
then what only ctrace's run can show (log lines, a view's root span)."""
import re

import pytest

import differential
from differential import assert_same_trees
from web import PROPAGATED_TID, drive, gunicorn, spans_named, as_ctrace_would

PATHS = ["/users/3", "/users/5?x=1&token=secret", "/error", "/status/503", "/nothere", "/json", "/chain"]
#: the app's own spans (tracer.trace in a view)
MANUAL = {"lookup"}
#: request and response headers tagged on server and client spans
HEADER_TAGS = {"DD_TRACE_HEADER_TAGS": "user-agent:client.agent,content-type,accept-encoding"}


def serve_chain(tracer, ports):
    """The app calling a second instance of itself (requests -> Flask)."""
    with gunicorn(tracer, "flask_app:app", env=HEADER_TAGS, port=ports[0]) as downstream:
        with gunicorn(tracer, "flask_app:app", env=dict(HEADER_TAGS, DOWNSTREAM=downstream.url),
                      port=ports[1]) as front:
            drive(front, PATHS)
    return {"front": front.traces(), "downstream": downstream.traces(), "log": front.output}


@pytest.fixture(scope="module")
def runs():
    ports = (differential.free_port(), differential.free_port())
    return {tracer: serve_chain(tracer, ports) for tracer in ("ddtrace", "ctrace")}


def test_flask_request_trees_are_ddtraces(runs):
    for tracer in ("ddtrace", "ctrace"):
        assert len(runs[tracer]["front"]) == len(PATHS) and len(runs[tracer]["downstream"]) == 1
    for side in ("front", "downstream"):
        theirs = as_ctrace_would(runs["ddtrace"][side], MANUAL)
        assert_same_trees(theirs, runs["ctrace"][side], ignore_meta=PROPAGATED_TID)


def test_flask_request_is_the_web_root_with_the_route_as_resource(runs):
    roots = spans_named(runs["ctrace"]["front"], "flask.request")
    by_url = {s["meta"]["http.url"].split(":", 2)[2].split("/", 1)[1]: s for s in roots}
    user = by_url["users/3"]
    assert (user["type"], user["resource"], user["parent_id"]) == ("web", "GET /users/<int:user_id>", 0)
    assert user["meta"]["user.id"] == "3"            # current_root_span().set_tag in the view
    assert by_url["nothere"]["resource"] == "GET 404"
    assert by_url["error"]["error"] == 1 and by_url["status/503"]["error"] == 1
    assert by_url["users/5?x=1&<redacted>"]["meta"]["http.route"] == "/users/<int:user_id>"


def test_header_tags_name_request_and_response_headers(runs):
    # the downstream request came from requests, which sends a User-Agent
    user = spans_named(runs["ctrace"]["downstream"], "flask.request")[0]
    assert user["meta"]["client.agent"].startswith("python-requests/")
    assert user["meta"]["http.response.headers.content-type"].startswith("text/html")
    client = spans_named(runs["ctrace"]["front"], "requests.request")[0]
    assert client["meta"]["http.request.headers.accept-encoding"]


def test_view_exception_is_recorded_on_the_view_and_answered_500(runs):
    view = [s for s in spans_named(runs["ctrace"]["front"], "flask_app.error")][0]
    assert view["error"] == 1
    assert view["meta"]["error.type"] == "builtins.ValueError"
    assert view["meta"]["error.message"] == "view failed"


def test_every_log_line_in_a_request_carries_its_ids(runs):
    by_id, high_bits = {}, {}
    for trace in runs["ctrace"]["front"]:
        for span in trace:
            by_id[span["span_id"]] = span
            if "_dd.p.tid" in span["meta"]:
                high_bits[span["trace_id"]] = int(span["meta"]["_dd.p.tid"], 16)
    lines = re.findall(r"LOG (.*) trace_id=(\w+) span_id=(\d+)", runs["ctrace"]["log"])
    assert len(lines) >= 5
    for message, trace_id, span_id in lines:
        span = by_id[int(span_id)]           # the span active when the line was logged
        assert span["service"] == "diff-app", message
        if message.startswith(("user ", "about to fail", "calling")):
            assert span["name"].startswith("flask_app."), (message, span["name"])
        assert trace_id == "%032x" % (high_bits[span["trace_id"]] << 64 | span["trace_id"])


def test_chained_request_is_one_trace_across_processes(runs):
    client = spans_named(runs["ctrace"]["front"], "requests.request")[0]
    server = [s for s in spans_named(runs["ctrace"]["downstream"], "flask.request")
              if s["parent_id"] == client["span_id"]]
    assert len(server) == 1
    assert server[0]["trace_id"] == client["trace_id"]
    assert client["meta"]["http.url"].endswith("/users/7?<redacted>")
