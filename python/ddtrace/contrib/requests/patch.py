"""requests tracing: ``Session.send`` is one ``requests.request`` span
(resource ``METHOD /path``, service ``requests``, or the host with
``split_by_domain``). ``HTTPAdapter.send`` marks the urllib3 request it
makes as already injected (``_http_client.suppressed``)."""
import os
import sys
from typing import Optional, Tuple
from urllib import parse

import requests

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib import _http_client, _safety, trace_utils

config._add("requests", {
    "distributed_tracing": asbool(os.environ.get("DD_REQUESTS_DISTRIBUTED_TRACING", True)),
    "split_by_domain": asbool(os.environ.get("DD_REQUESTS_SPLIT_BY_DOMAIN", False)),
    "default_http_tag_query_string": config._http_client_tag_query_string,
    "_default_service": "requests",
})


class TracedSession(requests.Session):
    """A requests Session whose requests are traced, patched or not."""


def get_version() -> str:
    return getattr(requests, "__version__", "")


def _host_and_path(url: str) -> Tuple[Optional[str], str]:
    parsed = parse.urlparse(url)
    host = parsed.hostname
    try:
        if parsed.port is not None:
            host = "%s:%s" % (host, parsed.port)
    except ValueError:  # a port out of range
        host = "%s:?" % host
    return host, parsed.path


def _query_of(url: str) -> str:
    query = url.partition("?")[2]
    return query.partition("#")[0]


def _wrap_send(wrapped, instance, args, kwargs):
    request = args[0] if args else kwargs.get("request")
    span = None
    with _safety.guard("requests"):
        if request is not None:
            url = trace_utils._sanitized_url(request.url or "")
            host, path = _host_and_path(url)
            service = (host if config.requests.get("split_by_domain") and host
                       else trace_utils.ext_service(None, config.requests))
            method = (request.method or "").upper()
            span = _http_client.start("requests.request", config.requests, service,
                                      "%s %s" % (method, path), request.headers)
    if span is None:
        return wrapped(*args, **kwargs)
    tags = (config.requests, request.method, request.url, host.split(":")[0] if host else None,
            _query_of(url), request.headers)
    try:
        response = wrapped(*args, **kwargs)
    except BaseException:
        _http_client.finish(span, *tags, exc_info=sys.exc_info())
        raise
    _http_client.finish(span, *tags, response=response)
    return response


def _wrap_adapter_send(wrapped, instance, args, kwargs):
    token = _http_client.suppressed.set(True)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _http_client.suppressed.reset(token)


# TracedSession is traced whether or not requests is patched (ddtrace's rule)
trace_utils.wrap(TracedSession, "send", _wrap_send)
trace_utils.wrap(requests.adapters.HTTPAdapter, "send", _wrap_adapter_send)


def patch() -> None:
    trace_utils.patch_attributes(requests, {"Session.send": _wrap_send})


def unpatch() -> None:
    trace_utils.unpatch_attributes(requests, ["Session.send"])
