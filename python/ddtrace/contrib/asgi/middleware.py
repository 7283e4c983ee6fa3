"""``TraceMiddleware``: one span per ASGI HTTP request, as ddtrace's.

The span starts when the app is called and is active while it runs (so
the app's own spans are its children); it ends when the last body message
goes out, or, when the app fails, once the exception is recorded (a 5xx
answer sent before the exception does not end it, so the error carries
the traceback). A Starlette ``Mount`` runs a second traced app inside the
first: ``scope["datadog"]["request_spans"]`` holds the spans of every
level, outermost first, so the router can name each by its route.

The per-request work is C (``_ctrace.AsgiMiddleware``, src/python/asgi.c):
the common request runs no Python frame of ours. The ``_c_*`` functions
below are what it calls for the rare parts: propagation headers, header
tags, a query string, an odd status, a service changed mid-request.

The tracing follows ``_safety``'s rule: if making the span fails the
request is served untraced, if tagging it fails the span goes out with
fewer tags but still ends; the app's own exceptions pass through
unchanged.
"""
import os
import sys
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ddtrace import _ctrace, config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import _web, trace_utils
from ddtrace.contrib._safety import failed
from ddtrace.contrib.asgi.utils import bytes_to_str, extract_headers, guarantee_single_callable
from ddtrace.ext import http
from ddtrace.propagation.http import _KEY_HEADERS

config._add("asgi", dict(
    service_name=config._get_service(default="asgi"),
    request_span_name="asgi.request",
    distributed_tracing=True,
    obfuscate_404_resource=asbool(os.environ.get("DD_ASGI_OBFUSCATE_404_RESOURCE", False)),
))

#: Where a framework (Starlette) puts a callable ``(scope, span)`` that
#: names the span by route when its router never reached a route handler.
ROUTE_RESOURCE_RESOLVER = "route_resource_resolver"
_TRACER = tracer  # (the middleware's `tracer` argument is ddtrace's, and unused)
#: The header names of every propagation style: a request carrying none
#: of them (most) is not handed to the extraction.
_PROPAGATION_KEYS = tuple(sorted({name.encode() for names in _KEY_HEADERS.values() for name in names}))


def get_version() -> str:
    return ""


def span_from_scope(scope: Mapping[str, Any]) -> Optional[Any]:
    """The outermost request span of this ASGI request, or None."""
    spans = scope.get("datadog", {}).get("request_spans")
    return spans[0] if spans else None


def _default_handle_exception_span(exc: BaseException, span: Any) -> None:
    """What the middleware does itself when given no handler."""
    span.set_tag(http.STATUS_CODE, "500")


class TraceMiddleware(_ctrace.AsgiMiddleware):
    """ASGI middleware tracing HTTP requests (other scopes pass through).

    ``span_modifier(span, scope)`` runs once the span has started;
    ``route_resolver(scope, span)`` is what a framework's router leaves in
    ``scope["datadog"]`` to name a span no route handler named."""

    def __init__(self, app: Any, tracer: Any = None, integration_config: Any = config.asgi,
                 handle_exception_span: Optional[Callable] = None,
                 span_modifier: Optional[Callable] = None,
                 route_resolver: Optional[Callable] = None) -> None:
        if handle_exception_span is _default_handle_exception_span:
            handle_exception_span = None  # (the C default: no call)
        super().__init__(guarantee_single_callable(app), _TRACER, integration_config,
                         _web.resolved_service, failed, sys.modules[__name__],
                         handle_exception_span, span_modifier, route_resolver)
        # Servers (uvicorn) tell ASGI 3 from ASGI 2 by asking whether
        # ``app.__call__`` is a coroutine function, which the C slot is not:
        # this one says so. Calling the middleware still goes to the C slot.
        self.__call__ = self._asgi3_call

    async def _asgi3_call(self, scope: Any, receive: Callable, send: Callable) -> Any:
        return await _ctrace.AsgiMiddleware.__call__(self, scope, receive, send)


# -- what the C middleware hands back to Python, when present ------------------------
def _c_request_headers(integration: Any, scope: Mapping[str, Any],
                       activate: bool) -> Tuple[Dict[str, str], Optional[str], str]:
    """(headers, Host, user agent) of a request whose headers the C scan
    does not read itself; the propagation headers activated first (not in
    a mounted sub-app: the outer request did)."""
    headers = extract_headers(scope)
    if activate:
        trace_utils._activate_lowercase_headers(tracer, integration, headers)
    agent = trace_utils._get_request_header_user_agent(headers, True) if headers else ""
    return headers, headers.get("host"), agent


def _c_store_headers(span: Any, integration: Any, headers: Mapping[str, str], which: str) -> None:
    trace_utils._store_headers(headers, span, integration, which)


def _c_response_headers(span: Any, integration: Any, message: Mapping[str, Any]) -> None:
    trace_utils._store_headers(extract_headers(message), span, integration, trace_utils.RESPONSE)


def _c_response_start(span: Any, integration: Any, scope: Mapping[str, Any], message: Mapping[str, Any]) -> None:
    """``http.response.start`` with a status that is not an int."""
    status = message["status"]
    if integration.get("obfuscate_404_resource") and status == 404:
        span.resource = "%s 404" % scope.get("method")
    headers = extract_headers(message) if integration.is_header_tracing_configured else None
    trace_utils.set_http_meta(span, integration, status_code=status, response_headers=headers)


def _c_url_tag(integration: Any, url: str, raw_query: Any, query: Optional[str]) -> str:
    """``http.url`` of a URL with a query string, credentials or a ``?``."""
    if raw_query:
        url = "%s?%s" % (url, bytes_to_str(raw_query))
    return trace_utils._url_tag(integration, trace_utils._sanitized_url(url), query)


def _c_set_service(span: Any, service: Optional[str], integration: Any) -> None:
    """The integration's settings changed during the request: its service
    as it was when the request started."""
    trace_utils.set_service_and_source(span, service, integration)
