"""The aiohttp client: ``ClientSession._request`` gets an
``aiohttp.request`` span (type ``http``, the trace's headers injected
into the request's), and the session's connector is wrapped so that
opening a connection shows as ``TCPConnector.connect`` under it. The
server side is ``trace_app`` (middlewares.py), not patching."""
import os
from collections.abc import MutableMapping
from typing import Any, Optional

import aiohttp
import wrapt
from yarl import URL

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils
from ddtrace.contrib._safety import guard
from ddtrace.contrib._spans import ending
from ddtrace.contrib.aiohttp import middlewares  # noqa: F401  (the server's settings)
from ddtrace.ext import SpanKind, SpanTypes

config._add("aiohttp_client", dict(
    distributed_tracing=asbool(os.environ.get("DD_AIOHTTP_CLIENT_DISTRIBUTED_TRACING", True)),
    default_http_tag_query_string=config._http_client_tag_query_string,
    split_by_domain=asbool(os.environ.get("DD_AIOHTTP_CLIENT_SPLIT_BY_DOMAIN", False)),
))


def get_version() -> str:
    return aiohttp.__version__


class _TracedConnector(wrapt.ObjectProxy):
    """The session's connector, with a span around ``connect``."""

    async def connect(self, req: Any, *args: Any, **kwargs: Any) -> Any:
        if not tracer.enabled:
            return await self.__wrapped__.connect(req, *args, **kwargs)
        with tracer.trace("%s.connect" % self.__wrapped__.__class__.__name__) as span:
            span.set_tag("component", config.aiohttp.integration_name)
            span.set_tag("span.kind", SpanKind.CLIENT)
            trace_utils.set_service_and_source(span, None, config.aiohttp)
            return await self.__wrapped__.connect(req, *args, **kwargs)


def _request_url(instance: Any, args: tuple, kwargs: dict) -> URL:
    raw = URL(str(args[1] if len(args) > 1 else kwargs["url"]))
    base = getattr(instance, "_base_url", None)
    return base.join(raw) if base is not None else raw


def _start(instance: Any, args: tuple, kwargs: dict) -> Any:
    method = args[0] if args else kwargs["method"]
    url = _request_url(instance, args, kwargs)
    headers = kwargs.get("headers")
    if not headers:
        headers = {}
    elif not isinstance(headers, MutableMapping):
        headers = dict(headers)
    kwargs["headers"] = headers
    client = config.aiohttp_client
    service = url.host if client.split_by_domain else trace_utils.ext_service(None, client)
    params = kwargs.get("params")
    full_url = str(url.update_query(params) if params else url)
    host, query = trace_utils.extract_netloc_and_query_info_from_url(full_url)
    span = tracer.trace("aiohttp.request", service=service, span_type=SpanTypes.HTTP)
    span.set_tag("component", client.integration_name)
    span.set_tag("span.kind", SpanKind.CLIENT)
    trace_utils.set_service_and_source(span, service, client)
    return span, (method, str(url), host, query or "", headers)


def _finish(span: Any, request: tuple, response: Optional[aiohttp.ClientResponse]) -> None:
    method, url, host, query, headers = request
    trace_utils.set_http_meta(
        span, config.aiohttp_client, method=method, url=url, target_host=host, query=query,
        request_headers=headers,
        status_code=response.status if response is not None else None,
        status_msg=response.reason if response is not None else None,
        response_headers=response.headers if response is not None else None)


async def _traced_request(wrapped, instance, args, kwargs):
    started = None
    with guard("aiohttp"):
        if tracer.enabled:
            started = _start(instance, args, kwargs)
    if started is None:
        return await wrapped(*args, **kwargs)
    span, request = started
    if trace_utils.distributed_tracing_enabled(config.aiohttp_client):
        with guard("aiohttp"):  # a span whose headers failed is still ended
            trace_utils.inject_headers(span, request[4])
    with ending("aiohttp", span, lambda response: _finish(span, request, response)) as holder:
        holder[0] = await wrapped(*args, **kwargs)
        return holder[0]


def _traced_session_init(wrapped, instance, args, kwargs):
    wrapped(*args, **kwargs)
    with guard("aiohttp"):
        instance._connector = _TracedConnector(instance._connector)


_WRAPPERS = {"ClientSession.__init__": _traced_session_init,
             "ClientSession._request": _traced_request}


def patch() -> None:
    trace_utils.patch_attributes(aiohttp, _WRAPPERS)


def unpatch() -> None:
    trace_utils.unpatch_attributes(aiohttp, _WRAPPERS)
