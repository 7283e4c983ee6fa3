"""What every HTTP client integration (requests, urllib3) does around one
request, written once, as ddtrace's shared HTTP client subscriber does:

- ``start``: the client span (type ``http``, ``span.kind: client``, the
  integration's service or, with ``split_by_domain``, the host), and the
  trace context injected into the outgoing headers in every configured
  propagation style, unless the integration's ``distributed_tracing`` is
  off or an outer client already injected (``suppressed``: requests over
  urllib3 must not send two sets of ids);
- ``finish``: the HTTP tags (URL with credentials removed and the query
  string obfuscated, status, the server error rule: a 5xx is an error)
  and the end of the span.

Both run under ``safety.guard``: a failure costs the span, never the
request.
"""
import contextvars
from typing import Any, Mapping, MutableMapping, Optional

from ddtrace._tracer import tracer
from ddtrace.contrib import _safety, _web, trace_utils
from ddtrace.ext import SpanKind, SpanTypes

#: True while a client integration's own request runs, so an inner one
#: (urllib3 under requests) traces but does not inject again.
suppressed: contextvars.ContextVar = contextvars.ContextVar("ctrace_http_injection_suppressed", default=False)


def start(operation: str, int_config: Any, service: Optional[str], resource: str,
          headers: Optional[MutableMapping[str, str]], measured: bool = True) -> Optional[Any]:
    """The active client span, or None when tracing is off or failed."""
    if not tracer.enabled:
        return None
    started = None
    with _safety.guard(int_config.integration_name):
        span = tracer.trace(operation, service=trace_utils.mapped_service(service),
                            span_type=SpanTypes.HTTP, resource=resource)
        with _web.finished_on_failure(span):
            trace_utils.set_service_and_source(span, service, int_config)
            span.set_tag("component", int_config.integration_name)
            span.set_tag("span.kind", SpanKind.CLIENT)
            if measured:
                span.set_metric("_dd.measured", 1)
            if (headers is not None and not suppressed.get()
                    and trace_utils.distributed_tracing_enabled(int_config)):
                trace_utils.inject_headers(span, headers)
        started = span
    return started


def finish(span: Any, int_config: Any, method: Optional[str], url: Optional[str],
           target_host: Optional[str], query: Optional[str],
           request_headers: Optional[Mapping[str, Any]], response: Any = None,
           server_address: Optional[str] = None, retries_remain: Any = None,
           exc_info: Optional[tuple] = None) -> None:
    """Tags the request (and ``response``, which has ``status``/
    ``status_code``, ``reason`` and ``headers``) and finishes ``span``,
    recording ``exc_info``, the exception the request raised, if any."""
    with _safety.guard(int_config.integration_name):
        status_code = status_msg = response_headers = None
        if response is not None:
            status_code = getattr(response, "status_code", None) or getattr(response, "status", None)
            status_msg = getattr(response, "reason", None) or None
            response_headers = getattr(response, "headers", None)
        trace_utils.set_http_meta(span, int_config, method=method, url=url, target_host=target_host,
                                  status_code=status_code, status_msg=status_msg, query=query,
                                  request_headers=request_headers, response_headers=response_headers,
                                  server_address=server_address, retries_remain=retries_remain)
    with _safety.guard(int_config.integration_name):
        if exc_info is not None:
            span.set_exc_info(*exc_info)
        span.finish()
