"""The WSGI response iterable's C path (_ctrace.WsgiResponse under
contrib/wsgi's middleware), called directly with hand-made environs: what
PEP 3333 asks of the iterable (close() called once, generators, lists,
file wrappers), exceptions while iterating, a response never closed, and
references (no leak over many requests, cycles collected)."""
import gc
import io
import sys
from wsgiref.util import FileWrapper

import pytest

from ddtrace import _ctrace
from ddtrace.contrib import _safety
from ddtrace.contrib.wsgi import DDWSGIMiddleware
from tracer_helpers import take_spans


def environ_of(path="/hello"):
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "example.test", "SERVER_PORT": "80", "HTTP_HOST": "example.test",
            "HTTP_USER_AGENT": "probe/1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b"")}


def start_response(status, headers, exc_info=None):
    return lambda data: None


class Closing:
    """An iterable remembering how often it was closed."""

    def __init__(self, chunks=(b"a", b"b"), fail_at=None):
        self.chunks, self.fail_at, self.closed = list(chunks), fail_at, 0

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if i == self.fail_at:
                raise ValueError("body failed")
            yield chunk

    def close(self):
        self.closed += 1


def app_returning(result):
    def app(environ, start):
        start("200 OK", [("Content-Type", "text/plain")])
        return result
    return app


def names(spans):
    return sorted(s["name"] for s in spans)


def test_exhausting_the_response_finishes_response_and_request_spans(tracer):
    body = Closing()
    response = DDWSGIMiddleware(app_returning(body))(environ_of(), start_response)
    assert take_spans() == []  # the app returned: the request is not over
    assert list(response) == [b"a", b"b"]
    spans = take_spans()  # exhausted: over, as ddtrace finishes them
    assert names(spans) == ["wsgi.application", "wsgi.request", "wsgi.response", "wsgi.start_response"]
    request = [s for s in spans if s["name"] == "wsgi.request"][0]
    assert request["meta"]["http.status_code"] == "200" and request["error"] == 0
    assert body.closed == 0
    response.close()
    assert body.closed == 1 and take_spans() == []  # the app's close, no second span
    response.close()  # a second close: the app's close again, still no span
    assert body.closed == 2 and take_spans() == []


def test_closing_a_response_not_drained_calls_the_apps_close_and_finishes(tracer):
    body = Closing(chunks=(b"a", b"b", b"c"))
    response = DDWSGIMiddleware(app_returning(body))(environ_of(), start_response)
    assert next(iter(response)) == b"a"  # the client went away after one chunk
    assert take_spans() == []
    response.close()
    assert body.closed == 1
    assert names(take_spans()) == ["wsgi.application", "wsgi.request", "wsgi.response", "wsgi.start_response"]


def test_a_base_exception_while_iterating_leaves_the_spans_to_close(tracer):
    def body():
        yield b"a"
        raise KeyboardInterrupt
    response = DDWSGIMiddleware(app_returning(body()))(environ_of(), start_response)
    iterator = iter(response)
    next(iterator)
    with pytest.raises(KeyboardInterrupt):
        next(iterator)
    assert take_spans() == []  # as ddtrace: only an Exception ends them here
    response.close()
    spans = {s["name"]: s for s in take_spans()}
    assert spans["wsgi.response"]["error"] == 0 and spans["wsgi.request"]["error"] == 0


def test_a_list_a_generator_and_a_file_wrapper_pass_through(tracer):
    def gen():
        yield b"x"
        yield b"y"
    for result, expected in (([b"1", b"2"], [b"1", b"2"]), (gen(), [b"x", b"y"])):
        response = DDWSGIMiddleware(app_returning(result))(environ_of(), start_response)
        assert b"".join(response) == b"".join(expected)
        response.close()
        assert len(take_spans()) == 4
    wrapper = FileWrapper(io.BytesIO(b"file body"))
    response = DDWSGIMiddleware(app_returning(wrapper))(environ_of(), start_response)
    assert isinstance(response, FileWrapper)  # a server's sendfile check sees its wrapper
    assert response.filelike is wrapper.filelike and response.__wrapped__ is wrapper
    assert b"".join(response) == b"file body"
    response.close()
    assert wrapper.filelike.closed and len(take_spans()) == 4


def test_len_is_the_app_iterables(tracer):
    response = DDWSGIMiddleware(app_returning([b"one"]))(environ_of(), start_response)
    assert len(response) == 1
    response.close()
    take_spans()


def test_an_exception_while_iterating_is_recorded_and_raised_unchanged(tracer):
    body = Closing(fail_at=1)
    response = DDWSGIMiddleware(app_returning(body))(environ_of(), start_response)
    iterator = iter(response)
    assert next(iterator) == b"a"
    with pytest.raises(ValueError, match="body failed") as raised:
        next(iterator)
    assert raised.traceback  # the app's own traceback
    spans = {s["name"]: s for s in take_spans()}
    # as ddtrace: on the response span; the request's status stays the app's
    assert spans["wsgi.response"]["error"] == 1
    assert spans["wsgi.response"]["meta"]["error.type"] == "builtins.ValueError"
    assert spans["wsgi.request"]["error"] == 0
    response.close()  # PEP 3333: the server still closes it
    assert body.closed == 1 and take_spans() == []


def test_a_failing_close_still_finishes_the_spans_and_raises(tracer):
    class BadClose(Closing):
        def close(self):
            raise RuntimeError("close failed")
    response = DDWSGIMiddleware(app_returning(BadClose()))(environ_of(), start_response)
    list(response)
    with pytest.raises(RuntimeError, match="close failed"):
        response.close()
    assert len(take_spans()) == 4


def test_a_response_never_closed_finishes_when_collected(tracer):
    response = DDWSGIMiddleware(app_returning(iter([b"z"])))(environ_of(), start_response)
    list(response)
    del response
    gc.collect()
    assert len(take_spans()) == 4


def test_spans_finished_elsewhere_are_no_failure(tracer):
    reported = []
    span = tracer.trace("outer")
    span.finish()

    def failed(integration, exc_info):
        reported.append((integration, exc_info[0]))

    response = _ctrace.WsgiResponse([b"a"], span, span, failed, "wsgi")
    assert list(response) == [b"a"]
    response.close()
    assert reported == []  # finishing a finished span is no failure
    take_spans()


def test_the_constructor_checks_its_spans():
    with pytest.raises(TypeError):
        _ctrace.WsgiResponse([], object(), object(), _safety.failed, "wsgi")


def test_many_requests_leak_no_references(tracer):
    body = [b"ok"]
    app = app_returning(body)
    middleware = DDWSGIMiddleware(app)
    watched = [body, app, middleware, _safety.failed]

    def request():
        response = middleware(environ_of(), start_response)
        for _ in response:
            pass
        response.close()

    for _ in range(50):
        request()
    take_spans()
    gc.collect()
    before = [sys.getrefcount(o) for o in watched]
    objects = len(gc.get_objects())
    for _ in range(2000):
        request()
    take_spans()
    gc.collect()
    assert [sys.getrefcount(o) for o in watched] == before
    assert len(gc.get_objects()) - objects < 50


def test_a_cycle_through_the_response_is_collected(tracer):
    class Body(list):
        pass
    body = Body([b"a"])
    response = DDWSGIMiddleware(app_returning(body))(environ_of(), start_response)
    body.response = response  # the app's iterable holds our proxy: a cycle
    response.close()
    take_spans()
    del body, response
    assert gc.collect() > 0
    assert not [o for o in gc.garbage if type(o).__name__ == "WsgiResponse"]


# -- the request's headers from the environ, in C (src/python/wsgi_environ.c) ----------------
class PythonEnviron(dict):
    """An environ that is not exactly a dict: read by the Python loop."""


HEADER_ENVIRONS = [
    environ_of(),
    {"HTTP_X_REQUEST_ID": "1", "HTTP_X_FOO2BAR_9Z": "2", "HTTP_": "empty", "HTTP_x_lower": "3",
     "HTTP_X__DOUBLE": "4", "HTTP_ACCEPT-LANGUAGE": "5", "HTTPX": "no", "http_x": "no"},
    {"HTTP_X_ÉTÉ_ǅX": "unicode", "HTTP_X_ΣΑΣ": "greek", "HTTP_X_\U0001f600_A": "astral", "HTTP_İ": "dot"},
    {"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "", "HTTP_CONTENT_TYPE": "first"},
    {"CONTENT_TYPE": "", "CONTENT_LENGTH": "12", 7: "not a str", b"HTTP_BYTES": "no"},
    {"HTTP_X_OBJECT": object, "CONTENT_LENGTH": 0},
]


@pytest.mark.parametrize("environ", HEADER_ENVIRONS)
@pytest.mark.parametrize("spell", [str.lower, str.title])
def test_headers_read_in_c_are_the_python_loops(environ, spell):
    from ddtrace.contrib.wsgi import wsgi
    python_environ = PythonEnviron({k: v for k, v in environ.items() if isinstance(k, str)})
    expected = wsgi._request_headers(python_environ, spell)
    got = wsgi._request_headers(dict(environ), spell)
    assert got == expected and list(got) == list(expected)  # names, values and order


def test_headers_in_c_check_their_arguments():
    with pytest.raises(TypeError):
        _ctrace.wsgi_request_headers([("HTTP_A", "b")], False)
    with pytest.raises(TypeError):
        _ctrace.wsgi_request_headers({})
    assert _ctrace.wsgi_request_headers({"HTTP_A_B": "v"}, True) == {"A-B": "v"}
