"""httpx patching: one span around ``send``, sync and async alike.

The span is made and tagged before the request leaves (so the injected
parent id is the span's own) and closed with the response's status, or
with the exception if there is no response. A status in
``DD_TRACE_HTTP_SERVER_ERROR_STATUSES`` (5xx by default) marks the span an
error, as ddtrace applies that rule to its httpx spans.
"""
import contextlib
import os
from typing import Any, Iterator, Optional

import httpx

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils
from ddtrace.contrib._safety import guard
from ddtrace.contrib._spans import ending
from ddtrace.ext import SpanKind, SpanTypes

config._add("httpx", dict(
    distributed_tracing=asbool(os.environ.get("DD_HTTPX_DISTRIBUTED_TRACING", True)),
    split_by_domain=asbool(os.environ.get("DD_HTTPX_SPLIT_BY_DOMAIN", False)),
    default_http_tag_query_string=config._http_client_tag_query_string,
))


def get_version() -> str:
    return getattr(httpx, "__version__", "")


def _text(value: Any) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def url_to_str(url: httpx.URL) -> str:
    """scheme://host[:port]/raw path and query, as ddtrace writes it."""
    port = ":%d" % url.port if url.port is not None else ""
    return "%s://%s%s%s" % (_text(url.raw_scheme), _text(url.raw_host), port, _text(url.raw_path))


def _service(request: httpx.Request) -> Optional[str]:
    if config.httpx.split_by_domain:
        return _text(request.url.netloc)
    return trace_utils.ext_service(None, config.httpx)


def _start(request: httpx.Request) -> Any:
    service = _service(request)
    span = tracer.trace("http.request", service=service, span_type=SpanTypes.HTTP)
    span.set_tag("component", "httpx")
    span.set_tag("span.kind", SpanKind.CLIENT)
    span.set_metric("_dd.measured", 1)
    trace_utils.set_service_and_source(span, service, config.httpx)
    return span


def _finish(span: Any, request: httpx.Request, response: Optional[httpx.Response]) -> None:
    trace_utils.set_http_meta(
        span, config.httpx, method=request.method, url=url_to_str(request.url),
        target_host=request.url.host, query=_text(request.url.query),
        status_code=response.status_code if response is not None else None,
        request_headers=request.headers,
        response_headers=response.headers if response is not None else None)


@contextlib.contextmanager
def _traced(request: Any) -> Iterator[list]:
    """Yields a one-slot list the caller puts the response in (a span is
    made only for an ``httpx.Request`` while tracing is on)."""
    span = None
    with guard("httpx"):
        if tracer.enabled and isinstance(request, httpx.Request):
            span = _start(request)
    if span is None:
        yield [None]
        return
    if trace_utils.distributed_tracing_enabled(config.httpx):
        with guard("httpx"):  # a span whose headers failed is still ended
            trace_utils.inject_headers(span, request.headers)
    with ending("httpx", span, lambda response: _finish(span, request, response)) as holder:
        yield holder


def _request_of(args: tuple, kwargs: dict) -> Any:
    return args[0] if args else kwargs.get("request")


def _traced_send(wrapped, instance, args, kwargs):
    with _traced(_request_of(args, kwargs)) as holder:
        holder[0] = wrapped(*args, **kwargs)
        return holder[0]


async def _traced_async_send(wrapped, instance, args, kwargs):
    with _traced(_request_of(args, kwargs)) as holder:
        holder[0] = await wrapped(*args, **kwargs)
        return holder[0]


_WRAPPERS = {"Client.send": _traced_send, "AsyncClient.send": _traced_async_send}


def patch() -> None:
    trace_utils.patch_attributes(httpx, _WRAPPERS)


def unpatch() -> None:
    trace_utils.unpatch_attributes(httpx, _WRAPPERS)
