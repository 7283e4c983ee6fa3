"""urllib3 tracing: ``HTTPConnectionPool.urlopen`` is one ``urllib3.request``
span; a relative URL is made absolute from the pool's scheme, host and
port (80 and 443 left out, as ddtrace does)."""
import os
import sys
from urllib import parse

import urllib3

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib import _http_client, _safety, trace_utils

_DROP_PORTS = (80, 443)

config._add("urllib3", {
    "_default_service": "urllib3",
    "distributed_tracing": asbool(os.environ.get("DD_URLLIB3_DISTRIBUTED_TRACING", True)),
    "default_http_tag_query_string": config._http_client_tag_query_string,
    "split_by_domain": asbool(os.environ.get("DD_URLLIB3_SPLIT_BY_DOMAIN", False)),
})


def get_version() -> str:
    return getattr(urllib3, "__version__", "")


def _argument(args, kwargs, position, name):
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else None


def _wrap_urlopen(wrapped, instance, args, kwargs):
    span = None
    with _safety.guard("urllib3"):
        method = _argument(args, kwargs, 0, "method")
        url = _argument(args, kwargs, 1, "url") or ""
        headers = _argument(args, kwargs, 3, "headers")
        retries = _argument(args, kwargs, 4, "retries")
        if url.startswith("/"):
            netloc = ("%s:%s" % (instance.host, instance.port)
                      if instance.port and instance.port not in _DROP_PORTS else str(instance.host))
            url = parse.urlunparse((instance.scheme, netloc, url, None, None, None))
        parsed = parse.urlparse(url)
        service = (parsed.netloc if config.urllib3.get("split_by_domain")
                   else trace_utils.ext_service(None, config.urllib3))
        if headers is None:
            # the context needs somewhere to go
            headers = {}
            if len(args) > 3:
                args = args[:3] + (headers,) + args[4:]
            else:
                kwargs["headers"] = headers
        span = _http_client.start("urllib3.request", config.urllib3, service, "urllib3.request", headers,
                                  measured=False)
    if span is None:
        return wrapped(*args, **kwargs)
    tags = dict(method=str(method), url=url, target_host=instance.host, query=parsed.query,
                request_headers=headers, server_address=instance.host,
                retries_remain=retries.total if isinstance(retries, urllib3.util.retry.Retry) else None)
    try:
        response = wrapped(*args, **kwargs)
    except BaseException:
        _http_client.finish(span, config.urllib3, exc_info=sys.exc_info(), **tags)
        raise
    _http_client.finish(span, config.urllib3, response=response, **tags)
    return response


def patch() -> None:
    if getattr(urllib3, "__datadog_patch", False):
        return
    urllib3.__datadog_patch = True
    trace_utils.wrap(urllib3, "connectionpool.HTTPConnectionPool.urlopen", _wrap_urlopen)


def unpatch() -> None:
    if not getattr(urllib3, "__datadog_patch", False):
        return
    urllib3.__datadog_patch = False
    trace_utils.unwrap(urllib3.connectionpool.HTTPConnectionPool, "urlopen")
