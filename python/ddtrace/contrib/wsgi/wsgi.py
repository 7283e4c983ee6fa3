"""Tracing a WSGI request, shared by ``DDWSGIMiddleware`` and Flask.

One request is four spans, as ddtrace makes them:

- the request span (``wsgi.request``, ``flask.request``), type ``web``,
  the local root, child of the distributed context of the incoming
  headers; it carries the HTTP tags and the status the app answered;
- the application span, the call of the WSGI app itself;
- the start_response span (generic middleware only), inside the app;
- the response span, from the app's return until the server has drained
  or closed the response iterable (the body may be streamed long after
  the app returned); then the request span finishes too.

The user's app is always called, and its exceptions go through
unchanged; the tracing around it runs under ``safety.guard`` so that a
failure of ours costs spans, never the request.
"""
import sys
from typing import Any, Callable, Dict, Iterable, Mapping, Optional
from urllib.parse import quote

from ddtrace import _ctrace, config
from ddtrace._tracer import tracer
from ddtrace.contrib import _safety, _web, trace_utils
from ddtrace.ext import SpanKind, SpanTypes

config._add("wsgi", dict(_default_service="wsgi", distributed_tracing=True))


def get_request_headers(environ: Mapping[str, Any]) -> Dict[str, str]:
    """The request's headers from ``HTTP_*`` keys, named as sent
    (``HTTP_X_REQUEST_ID`` -> ``X-Request-Id``), plus the two PEP 3333
    keeps without the prefix."""
    return _request_headers(environ, str.title)


def _request_headers(environ: Mapping[str, Any], spell: Callable[[str], str]) -> Dict[str, str]:
    """``get_request_headers`` with the names spelled by ``spell``
    (``str.title`` as sent, ``str.lower`` for lookups). A dict environ
    (a server's always is) is read in C (src/python/wsgi_environ.c): this
    loop was the largest cost of a traced request."""
    if type(environ) is dict and (spell is str.title or spell is str.lower):
        return _ctrace.wsgi_request_headers(environ, spell is str.title)
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[spell(key[5:].replace("_", "-"))] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[spell(key.replace("_", "-"))] = environ[key]
    return headers


def construct_url(environ: Mapping[str, Any]) -> str:
    """The request's URL as PEP 3333 rebuilds it, preferring the raw
    request line the server kept (``RAW_URI``/``REQUEST_URI``) so that
    percent-escapes and non-UTF-8 bytes read as the client sent them."""
    url = environ.get("wsgi.url_scheme", "http") + "://"
    if environ.get("HTTP_HOST"):
        url += environ["HTTP_HOST"]
    else:
        url += environ.get("SERVER_NAME", "")
        port = environ.get("SERVER_PORT", "")
        default = "443" if environ.get("wsgi.url_scheme") == "https" else "80"
        if port and port != default:
            url += ":" + port
    script_name = environ.get("SCRIPT_NAME") or ""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw:
        if script_name.rstrip("/") and not raw.startswith(script_name.rstrip("/") + "/"):
            url += quote(script_name)
        url += raw
        if environ.get("QUERY_STRING") and "?" not in raw:
            url += "?" + environ["QUERY_STRING"]
    else:
        url += quote(script_name) + quote(environ.get("PATH_INFO") or "")
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
    return url


def response_headers_to_tag(int_config: Any, headers: Any) -> Any:
    """The response headers as a dict, when header tags are configured
    (else None: most apps tag none, and the dict costs a call)."""
    return dict(headers or ()) if int_config.is_header_tracing_configured else None


#: The app's response iterable, standing in for it: the iteration's end
#: (exhausted, or an Exception, recorded on the response span, as ddtrace
#: does) or close() finishes the response span, then the request span; one
#: never drained nor closed finishes them when collected. In C
#: (src/python/wsgi_response.c): a request's six frames.
_TracedIterable = _ctrace.WsgiResponse


class _DDWSGIMiddlewareBase:
    """The request, application and response spans around a WSGI app.
    Subclasses name the spans and add their own tags in the hooks."""

    _request_span_name = "wsgi.request"
    _application_span_name = "wsgi.application"
    _response_span_name = "wsgi.response"

    def __init__(self, application: Callable, int_config: Any, app_is_iterator: bool = False) -> None:
        self.app = application
        self._config = int_config
        self.app_is_iterator = app_is_iterator

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable:
        name = self._config.integration_name
        request_span = app_span = None
        try:  # (inline, not _safety.guard, here and below: this runs for every request)
            request_span, app_span = self._start_request(environ)
        except Exception:
            _safety.failed(name, sys.exc_info())
        if request_span is None:
            return self.app(environ, start_response)
        try:
            result = self.app(environ, self._intercept_start_response(start_response, request_span))
        except BaseException:
            with _safety.guard(name):
                app_span.set_exc_info(*sys.exc_info())
                app_span.finish()
                self._request_span_modifier(request_span, environ)
                request_span.set_exc_info(*sys.exc_info())
                request_span.finish()
            raise
        response_span = None
        try:
            app_span.finish()
            self._request_span_modifier(request_span, environ)
            response_span = _web.start_span(self._response_span_name, self._config, child_of=request_span)
            self._response_span_modifier(response_span, result)
        except Exception:
            _safety.failed(name, sys.exc_info())
        if response_span is None:
            return result
        return _TracedIterable(result, request_span, response_span, _safety.failed, name)

    #: whether ``_set_request_http_meta`` reads the headers as sent, not
    #: only the lowered ones (Flask's does not: one dict fewer per request)
    _reads_headers_as_sent = True

    def _start_request(self, environ: Dict[str, Any]):
        if self._reads_headers_as_sent:
            headers = get_request_headers(environ)
            lowered = {k.lower(): v for k, v in headers.items()}
        else:
            headers, lowered = None, _request_headers(environ, str.lower)
        trace_utils._activate_lowercase_headers(tracer, self._config, lowered)
        request_span = _web.start_span(self._request_span_name, self._config, span_type=SpanTypes.WEB)
        app_span = None
        try:  # (not finished_on_failure: this runs for every request)
            request_span.set_tag("span.kind", SpanKind.SERVER)
            self._set_request_http_meta(request_span, environ, headers, lowered)
            app_span = _web.start_span(self._application_span_name, self._config)
            self._request_started(environ, request_span, app_span)
        except BaseException:
            # a span left open would stay active and adopt the next request
            if app_span is not None:
                app_span.finish()
            request_span.finish()
            raise
        return request_span, app_span

    def _request_started(self, environ: Dict[str, Any], request_span: Any, app_span: Any) -> None:
        """Tags the request span when both spans exist."""

    def _set_request_http_meta(self, request_span: Any, environ: Dict[str, Any],
                               headers: Optional[Dict[str, str]], lowered: Dict[str, str]) -> None:
        """``headers`` as sent (None unless ``_reads_headers_as_sent``),
        ``lowered`` with lowercase names (shared: do not change them)."""
        # The headers go as sent (``User-Agent``): ddtrace's WSGI middleware
        # tags no user agent, only the headers DD_TRACE_HEADER_TAGS names.
        trace_utils.set_http_meta(request_span, self._config, method=environ.get("REQUEST_METHOD"),
                                  url=construct_url(environ), query=environ.get("QUERY_STRING"),
                                  request_headers=headers)

    def _intercept_start_response(self, start_response: Callable, request_span: Any) -> Callable:
        def traced_start_response(status: str, headers: Any, exc_info: Any = None):
            try:  # (inline, not _safety.guard: this runs for every request)
                self._on_start_response(request_span, status, headers)
            except Exception:
                _safety.failed(self._config.integration_name, sys.exc_info())
            return self._traced_start_response(start_response, status, headers, exc_info)
        return traced_start_response

    def _on_start_response(self, request_span: Any, status: str, headers: Any) -> None:
        code, _, message = str(status).partition(" ")
        trace_utils.set_http_meta(request_span, self._config, status_code=code, status_msg=message or None,
                                  response_headers=response_headers_to_tag(self._config, headers))

    def _traced_start_response(self, start_response: Callable, status: str, headers: Any, exc_info: Any):
        return start_response(status, headers, exc_info)

    # hooks -------------------------------------------------------------------------
    def _request_span_modifier(self, request_span: Any, environ: Dict[str, Any]) -> None:
        """Tags the request span once the app has run."""

    def _response_span_modifier(self, response_span: Any, result: Any) -> None:
        """Tags the response span."""


def default_wsgi_span_modifier(span: Any, environ: Dict[str, Any]) -> None:
    span.resource = "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))


class DDWSGIMiddleware(_DDWSGIMiddlewareBase):
    """WSGI middleware tracing ``application``.

    :param application: the WSGI application
    :param tracer: ignored (ddtrace deprecated it: the global tracer is used)
    :param span_modifier: ``f(request_span, environ)``, by default the
        resource ``METHOD PATH_INFO``
    :param app_is_iterator: the app is an iterator of chunks
    """

    def __init__(self, application: Callable, tracer: Any = None,
                 span_modifier: Callable = default_wsgi_span_modifier, app_is_iterator: bool = False) -> None:
        super().__init__(application, config.wsgi, app_is_iterator=app_is_iterator)
        self.span_modifier = span_modifier

    def _traced_start_response(self, start_response, status, headers, exc_info):
        span = None
        with _safety.guard("wsgi"):
            span = _web.start_span("wsgi.start_response", self._config, span_type=SpanTypes.WEB)
            span.set_tag("span.kind", SpanKind.SERVER)
        if span is None:
            return start_response(status, headers, exc_info)
        with span:
            return start_response(status, headers, exc_info)

    def _request_span_modifier(self, request_span, environ):
        self.span_modifier(request_span, environ)

    def _response_span_modifier(self, response_span, result):
        response_span.set_tag("result_class", type(result).__name__)
