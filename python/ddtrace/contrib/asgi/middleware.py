"""``TraceMiddleware``: one span per ASGI HTTP request, as ddtrace's.

The span starts when the app is called and is active while it runs (so
the app's own spans are its children); it ends when the last body message
goes out, or, when the app fails, once the exception is recorded (a 5xx
answer sent before the exception does not end it, so the error carries
the traceback). A Starlette ``Mount`` runs a second traced app inside the
first: ``scope["datadog"]["request_spans"]`` holds the spans of every
level, outermost first, so the router can name each by its route.

The tracing code runs under ``_safety.guard`` (or its inline form): if making the span fails
the request is served untraced, if tagging it fails the span goes out
with fewer tags but still ends; the app's own exceptions pass through
unchanged.
"""
import os
import sys
from typing import Any, Callable, Dict, Mapping, Optional

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import _web, trace_utils
from ddtrace.contrib._safety import failed, guard
from ddtrace.contrib.asgi.utils import bytes_to_str, extract_headers, guarantee_single_callable
from ddtrace.ext import SpanKind, SpanTypes, http

config._add("asgi", dict(
    service_name=config._get_service(default="asgi"),
    request_span_name="asgi.request",
    distributed_tracing=True,
    obfuscate_404_resource=asbool(os.environ.get("DD_ASGI_OBFUSCATE_404_RESOURCE", False)),
))

#: Where a framework (Starlette) puts a callable ``(scope, span)`` that
#: names the span by route when its router never reached a route handler.
ROUTE_RESOURCE_RESOLVER = "route_resource_resolver"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def get_version() -> str:
    return ""


def span_from_scope(scope: Mapping[str, Any]) -> Optional[Any]:
    """The outermost request span of this ASGI request, or None."""
    spans = scope.get("datadog", {}).get("request_spans")
    return spans[0] if spans else None


def _default_handle_exception_span(exc: BaseException, span: Any) -> None:
    span.set_tag(http.STATUS_CODE, "500")


def _request_url(scope: Mapping[str, Any], headers: Mapping[str, str]) -> Optional[str]:
    """scheme://host[:port]/path?query from the Host header, else from
    the server address (its port left out when it is the scheme's)."""
    scheme = scope.get("scheme", "http")
    path = scope.get("path", "")
    host = headers.get("host")
    server = scope.get("server")
    if host:
        url = "%s://%s%s" % (scheme, host, path)
    elif server and len(server) == 2:
        port = server[1]
        netloc = server[0] if port is None or port == _DEFAULT_PORTS.get(scheme) else "%s:%s" % (server[0], port)
        url = "%s://%s%s" % (scheme, netloc, path)
    else:
        return None
    query = scope.get("query_string")
    return "%s?%s" % (url, bytes_to_str(query)) if query else url


def _version_tags(scope: Mapping[str, Any], tags: Dict[str, str]) -> Dict[str, str]:
    """``tags`` plus the HTTP and ASGI versions of the scope."""
    if scope.get("http_version"):
        tags[http.VERSION] = scope["http_version"]
    versions = scope.get("asgi") or {}
    for key in ("version", "spec_version"):
        if key in versions:
            tags["asgi." + key] = versions[key]
    return tags


def _resolve_route(scope: Mapping[str, Any], span: Any) -> None:
    datadog = scope.get("datadog", {})
    resolver = datadog.get(ROUTE_RESOURCE_RESOLVER)
    if resolver is not None and not datadog.get("resource_paths"):
        resolver(scope, span)


class TraceMiddleware:
    """ASGI middleware tracing HTTP requests (other scopes pass through)."""

    def __init__(self, app: Any, tracer: Any = None, integration_config: Any = config.asgi,
                 handle_exception_span: Callable = _default_handle_exception_span,
                 span_modifier: Optional[Callable] = None) -> None:
        self.app = guarantee_single_callable(app)
        self.integration_config = integration_config
        self.handle_exception_span = handle_exception_span
        self.span_modifier = span_modifier

    async def __call__(self, scope: Any, receive: Callable, send: Callable) -> Any:
        # (try/except _safety.failed inline, not guard: this runs for every request)
        started = None
        if scope.get("type") == "http":
            try:
                started = self._start(scope)
            except Exception:
                failed(self.integration_config.integration_name, sys.exc_info())
        if started is None:
            return await self.app(scope, receive, send)
        span, headers, resolved = started
        try:
            self._tag_request(scope, span, headers, resolved)
        except Exception:
            failed(self.integration_config.integration_name, sys.exc_info())
        try:
            return await self.app(scope, receive, self._traced_send(scope, span, send))
        except Exception as exc:
            with guard(self.integration_config.integration_name):
                span.set_exc_info(*sys.exc_info())
                self.handle_exception_span(exc, span)
            raise
        finally:
            try:
                self._end(scope, span, resolved)
            except Exception:
                failed(self.integration_config.integration_name, sys.exc_info())
            span.finish()  # outside the guard: ends even if _end failed

    def _start(self, scope: Any) -> Any:
        integration = self.integration_config
        is_subapp = "datadog" in scope
        headers = extract_headers(scope)
        if not is_subapp:
            trace_utils._activate_lowercase_headers(tracer, integration, headers)
        resolved = _web.resolved_service(integration)
        method = scope["method"]
        span = tracer.trace(integration.get("request_span_name", "asgi.request"), service=resolved[0],
                            resource="%s %s" % (method, scope["path"]), span_type=SpanTypes.WEB)
        scope.setdefault("datadog", {"request_spans": []})["request_spans"].append(span)
        return span, headers, resolved

    def _tag_request(self, scope: Any, span: Any, headers: Dict[str, str], resolved: tuple) -> None:
        """The request's tags; a failure here leaves the span untagged
        but still ended with the response."""
        integration = self.integration_config
        method = scope["method"]
        # component, _dd.svc_src, span.kind and the versions in one call
        span.set_tags(_version_tags(scope, dict(resolved[2], **{"span.kind": SpanKind.SERVER})))
        if resolved[1]:
            span.service = resolved[1]
        if self.span_modifier is not None:
            self.span_modifier(span, scope)
        query = bytes_to_str(scope.get("query_string", b"")) or None
        trace_utils.set_http_meta(span, integration, method=method, url=_request_url(scope, headers),
                                  query=query if integration.trace_query_string else None,
                                  request_headers=headers, headers_are_case_sensitive=True)

    def _traced_send(self, scope: Any, span: Any, send: Callable) -> Callable:
        async def traced_send(message: Mapping[str, Any]) -> Any:
            if message.get("type") == "http.response.start":  # (the body messages need nothing)
                try:
                    self._on_response_message(scope, span, message)
                except Exception:
                    failed(self.integration_config.integration_name, sys.exc_info())
            try:
                return await send(message)
            finally:
                if (message.get("type") == "http.response.body" and not message.get("more_body", False)
                        and span.error == 0):
                    try:
                        _resolve_route(scope, span)
                        span.finish()
                    except Exception:
                        failed(self.integration_config.integration_name, sys.exc_info())
        return traced_send

    def _on_response_message(self, scope: Any, span: Any, message: Mapping[str, Any]) -> None:
        """The status of an ``http.response.start`` message."""
        if "status" not in message:
            return
        integration = self.integration_config
        status = message["status"]
        if integration.get("obfuscate_404_resource") and status == 404:
            span.resource = "%s 404" % scope.get("method")
        # the response headers are read only when header tags are configured
        headers = extract_headers(message) if integration.is_header_tracing_configured else None
        trace_utils.set_http_meta(span, integration, status_code=status, response_headers=headers)

    def _end(self, scope: Any, span: Any, resolved: tuple) -> None:
        _resolve_route(scope, span)
        spans = scope.get("datadog", {}).get("request_spans")
        if spans and span in spans:
            spans.remove(span)
        # as ddtrace, the integration's service again: a change inside the app does not stick
        now = _web.resolved_service(self.integration_config)
        if now[0] != resolved[0]:  # the settings changed during the request
            trace_utils.set_service_and_source(span, resolved[0], self.integration_config)
            return
        source = now[2].get("_dd.svc_src")
        if source:
            span.set_tag("_dd.svc_src", source)
        if now[1]:
            span.service = now[1]
