"""OpenTelemetry API over ctrace: ``TracerProvider`` for code written
against ``opentelemetry-api``.

Usage, as with ddtrace::

    from opentelemetry import trace
    from ddtrace.opentelemetry import TracerProvider
    trace.set_tracer_provider(TracerProvider())

Each OTel span wraps a ddtrace Span, so OTel and ddtrace-API spans form one
trace: ctrace's active span is the parent of both kinds (an OTel span
started with no explicit ``context`` is a child of the active ddtrace span,
and ``start_as_current_span`` activates its ddtrace span as well as setting
the OTel context). Mapping, as ddtrace's: OTel name -> resource; the
operation name is derived from kind and semantic attributes at ``end()``
(``http.server.request``, ``<db.system>.query``, ``internal``...); kind ->
``span.kind``; status ERROR -> ``error=1`` and ``error.message``;
attributes -> tags (``operation.name``, ``service.name``, ``resource.name``,
``span.type`` set those fields); events -> span events; links -> span
links. Bad input is logged and ignored, never raised.
"""
import logging
import time
from typing import Any, Iterator, Mapping, Optional, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from ddtrace import _ctrace
from ddtrace._tracer import tracer as _dd_tracer
from ddtrace.constants import ERROR_MSG, SPAN_KIND

log = logging.getLogger("ddtrace")

__all__ = ["TracerProvider"]

_MAPPED_FIELDS = {"service.name": "service", "resource.name": "resource", "span.type": "span_type"}


class TracerProvider(otel_trace.TracerProvider):
    """Hands out Tracers writing ctrace spans."""

    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: Optional[str] = None,
                   schema_url: Optional[str] = None,
                   attributes: Optional[Mapping[str, Any]] = None) -> "Tracer":
        return Tracer(_dd_tracer)


class Tracer(otel_trace.Tracer):
    def __init__(self, datadog_tracer) -> None:
        self._tracer = datadog_tracer

    def start_span(self, name: str, context: Optional[otel_context.Context] = None,
                   kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Optional[Mapping[str, Any]] = None,
                   links: Optional[Sequence[otel_trace.Link]] = None,
                   start_time: Optional[int] = None, record_exception: bool = True,
                   set_status_on_exception: bool = True) -> "Span":
        ddspan = self._tracer.start_span(str(name), child_of=_parent(context),
                                         resource=str(name), activate=False)
        if start_time:
            ddspan.start_ns = int(start_time)
        span = Span(ddspan, kind, record_exception, set_status_on_exception)
        if attributes:
            span.set_attributes(attributes)
        for link in links or ():
            span.add_link(link.context, link.attributes)
        return span

    @otel_trace._agnosticcontextmanager
    def start_as_current_span(self, name: str, context: Optional[otel_context.Context] = None,
                              kind: SpanKind = SpanKind.INTERNAL,
                              attributes: Optional[Mapping[str, Any]] = None,
                              links: Optional[Sequence[otel_trace.Link]] = None,
                              start_time: Optional[int] = None, record_exception: bool = True,
                              set_status_on_exception: bool = True,
                              end_on_exit: bool = True) -> Iterator["Span"]:
        span = self.start_span(name, context, kind, attributes, links, start_time,
                               record_exception, set_status_on_exception)
        with otel_trace.use_span(span, end_on_exit=end_on_exit,
                                 record_exception=record_exception,
                                 set_status_on_exception=set_status_on_exception):
            previous = _ctrace.active()
            _ctrace.activate(span._ddspan)
            try:
                yield span
            finally:
                # The ddtrace span of this block gives way to what was active.
                _ctrace.activate(previous)


def _parent(context: Optional[otel_context.Context]):
    """The ddtrace parent: the active ddtrace span or context when no OTel
    context is given, else the span of that context (remote or ours)."""
    if context is None:
        return _ctrace.active()
    otel_span = otel_trace.get_current_span(context)
    if isinstance(otel_span, Span):
        return otel_span._ddspan
    span_context = otel_span.get_span_context()
    if not span_context.is_valid:
        return None
    return _ctrace.Context(trace_id=span_context.trace_id, span_id=span_context.span_id,
                           sampling_priority=1 if span_context.trace_flags.sampled else 0)


def _datadog_operation_name(kind: SpanKind, tag) -> str:
    """ddtrace's (and dd-trace-java's) operation name for an OTel span."""
    if tag("operation.name"):
        return tag("operation.name")
    if tag("http.request.method") and kind in (SpanKind.SERVER, SpanKind.CLIENT):
        return "http.server.request" if kind == SpanKind.SERVER else "http.client.request"
    if tag("db.system") and kind == SpanKind.CLIENT:
        return tag("db.system") + ".query"
    if tag("messaging.system") and tag("messaging.operation") and kind != SpanKind.INTERNAL:
        return tag("messaging.system") + "." + tag("messaging.operation")
    if tag("rpc.system") and kind in (SpanKind.SERVER, SpanKind.CLIENT):
        side = "server" if kind == SpanKind.SERVER else "client"
        return "%s.%s.request" % (tag("rpc.system"), side)
    if tag("graphql.operation.type"):
        return "graphql.server.request"
    if kind in (SpanKind.SERVER, SpanKind.CLIENT):
        side = "server" if kind == SpanKind.SERVER else "client"
        protocol = tag("network.protocol.name")
        return "%s.%s.request" % (protocol, side) if protocol else side + ".request"
    return kind.name.lower()


class Span(otel_trace.Span):
    """An OTel span backed by a ddtrace Span."""

    def __init__(self, ddspan, kind: SpanKind, record_exception: bool = True,
                 set_status_on_exception: bool = True) -> None:
        self._ddspan = ddspan
        self.kind = kind
        self._record_exception = record_exception
        self._set_status_on_exception = set_status_on_exception
        ddspan.set_tag(SPAN_KIND, kind.name.lower())

    def get_span_context(self) -> SpanContext:
        context = self._ddspan.context
        priority = context.sampling_priority
        flags = TraceFlags(TraceFlags.SAMPLED if priority is None or priority > 0 else 0)
        return SpanContext(self._ddspan.trace_id, self._ddspan.span_id, is_remote=False,
                           trace_flags=flags, trace_state=TraceState())

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: Any) -> None:
        if not self.is_recording():
            return
        field = _MAPPED_FIELDS.get(key)
        if field is not None:
            setattr(self._ddspan, field, str(value))
        elif isinstance(value, (list, tuple)):
            # ddtrace flattens sequences to key.0, key.1, ...
            for index, item in enumerate(value):
                self._ddspan.set_tag("%s.%d" % (key, index), item)
        else:
            self._ddspan.set_tag(key, value)

    def add_event(self, name: str, attributes: Optional[Mapping[str, Any]] = None,
                  timestamp: Optional[int] = None) -> None:
        if not self.is_recording():
            return
        self._ddspan._events.append({
            "name": str(name),
            "time_unix_nano": int(timestamp) if timestamp else time.time_ns(),
            "attributes": {str(k): v for k, v in (attributes or {}).items()},
        })

    def add_link(self, context: SpanContext, attributes: Optional[Mapping[str, Any]] = None) -> None:
        if not self.is_recording() or not context.is_valid:
            return
        self._ddspan.set_link(trace_id=context.trace_id, span_id=context.span_id,
                              tracestate=context.trace_state.to_header() or None,
                              flags=int(context.trace_flags),
                              attributes=dict(attributes or {}))

    def update_name(self, name: str) -> None:
        if self.is_recording():
            self._ddspan.resource = str(name)

    def is_recording(self) -> bool:
        return not self._ddspan.finished

    def set_status(self, status: Any, description: Optional[str] = None) -> None:
        if not self.is_recording():
            return
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        if code == StatusCode.ERROR:
            self._ddspan.error = 1
            if description:
                self._ddspan.set_tag(ERROR_MSG, description)
        elif code == StatusCode.OK:
            self._ddspan.error = 0  # OK is final in OTel: it clears an error

    def record_exception(self, exception: BaseException,
                         attributes: Optional[Mapping[str, Any]] = None,
                         timestamp: Optional[int] = None, escaped: bool = False) -> None:
        if self.is_recording():
            # ddtrace: an event, and the error.* tags of the exception
            self._ddspan.record_exception(exception, dict(attributes or {}))
            self._ddspan.set_exc_info(type(exception), exception, exception.__traceback__)

    def end(self, end_time: Optional[int] = None) -> None:
        if not self.is_recording():
            return
        kind = self.kind
        self._ddspan.name = _datadog_operation_name(kind, self._ddspan.get_tag)
        self._ddspan.finish(end_time / 1e9 if end_time else None)

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_val is not None and self.is_recording():
            if self._record_exception:
                self.record_exception(exc_val)
            if self._set_status_on_exception:
                self.set_status(Status(StatusCode.ERROR, "%s: %s" % (exc_type.__name__, exc_val)))
        super().__exit__(exc_type, exc_val, exc_tb)
