"""The aiohttp server: ``trace_app`` adds a middleware, first of all,
that starts the ``aiohttp.request`` span (continuing the incoming trace),
and an ``on_response_prepare`` hook that ends it with the status and a
resource named from the matched resource (``GET /users/{id}``; the bare
status when no route matched). A plain ``StreamResponse`` still being
written ends when the request's task does, so the span covers the
stream."""
import sys
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import SystemRoute

from ddtrace import config
from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils
from ddtrace.contrib._safety import guard
from ddtrace.ext import SpanKind, SpanTypes

CONFIG_KEY = "datadog_trace"
REQUEST_CONTEXT_KEY = "datadog_context"
REQUEST_SPAN_KEY = "__datadog_request_span"
REQUEST_CONFIG_KEY = "__datadog_trace_config"

config._add("aiohttp", dict(distributed_tracing=True))


def _route(request: web.Request) -> Any:
    route = getattr(request.match_info, "route", None)
    if route is None or isinstance(route, SystemRoute):
        return None
    return route.resource.canonical


def _start_span(request: web.Request, app_config: dict) -> Any:
    trace_utils.activate_distributed_headers(
        tracer, int_config=config.aiohttp, request_headers=request.headers,
        override=app_config.get("distributed_tracing_enabled"))
    span = tracer.trace("aiohttp.request", service=app_config["service"], span_type=SpanTypes.WEB)
    request[REQUEST_SPAN_KEY] = span
    return span


def _tag_request(span: Any, request: web.Request, app_config: dict) -> None:
    """The request's tags; a failure here leaves the span untagged but
    still ended with the response."""
    service = app_config["service"]
    span.set_tag("component", config.aiohttp.integration_name)
    span.set_tag("span.kind", SpanKind.SERVER)
    span.set_metric("_dd.measured", 1)
    trace_utils.set_service_and_source(span, service, config.aiohttp)
    trace_query_string = app_config.get("trace_query_string")
    if trace_query_string is None:
        trace_query_string = config._http.trace_query_string
    trace_utils.set_http_meta(
        span, config.aiohttp, method=request.method, url=str(request.url),
        query=request.query_string if trace_query_string else None,
        request_headers=request.headers, route=_route(request), headers_are_case_sensitive=True)
    request[REQUEST_CONFIG_KEY] = app_config
    request[REQUEST_CONTEXT_KEY] = span.context


async def trace_middleware(app: web.Application, handler: Any) -> Any:
    """Old-style middleware factory (what ddtrace installs)."""
    async def attach_context(request: web.Request) -> Any:
        span = None
        with guard("aiohttp"):
            span = _start_span(request, app[CONFIG_KEY])
        if span is not None:
            with guard("aiohttp"):
                _tag_request(span, request, app[CONFIG_KEY])
        try:
            response = await handler(request)
        except BaseException as exc:
            if span is not None:
                with guard("aiohttp"):
                    if isinstance(exc, Exception):
                        span.set_exc_info(*sys.exc_info())
                    # no answer may ever be prepared (the client went away,
                    # the task was cancelled): the span still ends with the task
                    request.task.add_done_callback(lambda _: _finish_unanswered(span))
            raise
        if span is not None and isinstance(response, web.StreamResponse):
            with guard("aiohttp"):
                request.task.add_done_callback(lambda _: finish_request_span(request, response))
        return response
    return attach_context


def _resource(request: web.Request, response: web.StreamResponse) -> str:
    resource = getattr(request.match_info.route, "resource", None)
    if not resource:
        return str(response.status)
    info = resource.get_info()
    name = info.get("path") or info.get("formatter") or info.get("prefix")
    return "%s %s" % (request.method, name)


def finish_request_span(request: web.Request, response: web.StreamResponse) -> None:
    """Ends the request span once (the prepare hook and the task's
    callback may both get here)."""
    span = request.get(REQUEST_SPAN_KEY)
    if span is None or span.finished:
        return
    with guard("aiohttp"):
        span.resource = _resource(request, response)
        trace_utils.set_http_meta(span, config.aiohttp, status_code=response.status,
                                  response_headers=response.headers)
    span.finish()


def _finish_unanswered(span: Any) -> None:
    if not span.finished:
        span.finish()


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    if type(response) is web.StreamResponse and not response.task.done():
        return  # a stream: ends with the request's task
    finish_request_span(request, response)


def trace_app(app: web.Application, tracer: Any = None, service: str = "aiohttp-web") -> None:
    """Trace ``app``'s requests (the ``tracer`` argument is accepted and
    ignored: the global tracer is used, as in ddtrace 4)."""
    if getattr(app, "__datadog_trace", False):
        return
    app.__datadog_trace = True
    app[CONFIG_KEY] = {"service": config._get_service(default=service), "distributed_tracing_enabled": None}
    app.middlewares.insert(0, trace_middleware)
    app.on_response_prepare.append(on_prepare)
