"""The generic WSGI middleware under gunicorn, real ddtrace 4.16 against
ctrace; then its contract in one process: the app's exception goes
through unchanged, the response iterable is closed, a failure of the
tracing code never reaches the app."""
import differential
from differential import assert_same_trees
from web import as_ctrace_would, drive, gunicorn, run_in_ctrace

PATHS = ["/x?a=1&token=abc", "/error", "/unavailable"]


def test_wsgi_request_trees_are_ddtraces():
    port = differential.free_port()
    traces = {}
    for tracer in ("ddtrace", "ctrace"):
        with gunicorn(tracer, "wsgi_app:app", port=port) as server:
            drive(server, PATHS)
        traces[tracer] = server.traces()
    assert len(traces["ddtrace"]) == len(traces["ctrace"]) == len(PATHS)
    assert_same_trees(as_ctrace_would(traces["ddtrace"], {"work"}), traces["ctrace"])


CONTRACT = r'''
import json
from ddtrace import tracer
from ddtrace.contrib import _safety, trace_utils
from ddtrace.contrib.wsgi import DDWSGIMiddleware

class Boom(Exception):
    pass

raised = Boom("mine")
def failing(environ, start_response):
    raise raised

class Body:
    closed = False
    def __iter__(self):
        yield b"a"
    def close(self):
        Body.closed = True

def ok(environ, start_response):
    start_response("200 OK", [])
    return Body()

environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/p", "wsgi.url_scheme": "http",
           "SERVER_NAME": "h", "SERVER_PORT": "80", "HTTP_X_DATADOG_TRACE_ID": "not-a-number",
           "HTTP_TRACEPARENT": "00-zz-yy-01"}
out = {}
try:
    DDWSGIMiddleware(failing)(dict(environ), lambda *a: None)
except Boom as exc:
    out["same_exception"] = exc is raised
body = DDWSGIMiddleware(ok)(dict(environ), lambda *a: None)
out["body"] = b"".join(body).decode()
body.close()
out["closed"] = Body.closed

def broken(*args, **kwargs):
    raise RuntimeError("a bug in the tracing code")
original_set_http_meta = trace_utils.set_http_meta
trace_utils.set_http_meta = broken
body = DDWSGIMiddleware(ok)(dict(environ), lambda *a: None)
out["body_when_broken"] = b"".join(body).decode()
body.close()
out["errors"] = _safety.errors["wsgi"]
# a path that is not UTF-8, as a server hands it over (latin-1, PEP 3333)
latin = dict(environ, PATH_INFO=b"/\xff\xfe".decode("latin-1"), RAW_URI=b"/\xff\xfe".decode("latin-1"))
trace_utils.set_http_meta = original_set_http_meta
body = DDWSGIMiddleware(ok)(latin, lambda *a: None)
out["body_latin"] = b"".join(body).decode()
body.close()
tracer.flush()
print(json.dumps(out))
'''


def test_wsgi_app_errors_pass_through_and_tracing_failures_do_not():
    out, stderr, spans = run_in_ctrace(CONTRACT, spans=9)
    assert out == {"same_exception": True, "body": "a", "closed": True, "body_when_broken": "a", "errors": 1,
                   "body_latin": "a"}
    assert stderr.count("the wsgi integration failed") == 1   # logged once
    roots = [s for s in spans if s["name"] == "wsgi.request"]
    # the malformed headers started new traces instead of failing
    assert roots and all(s["parent_id"] == 0 for s in roots)
    assert "GET /\xff\xfe" in {s["resource"] for s in roots}
