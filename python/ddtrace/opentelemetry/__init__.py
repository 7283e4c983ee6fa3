"""OpenTelemetry API over ctrace: ``TracerProvider`` for code written
against ``opentelemetry-api``, and so for the opentelemetry-instrumentation-*
packages.

Usage, as with ddtrace::

    from opentelemetry import trace
    from ddtrace.opentelemetry import TracerProvider
    trace.set_tracer_provider(TracerProvider())

or ``DD_TRACE_OTEL_ENABLED=true`` with ``ddtrace-run`` / ``import
ddtrace.auto``, which set the provider when ``opentelemetry.trace`` is
imported.

Each OTel span wraps a ctrace Span, and OTel's current context and ctrace's
active span are one (``ddtrace._otel_context``, installed by the provider):
``trace.use_span()`` / ``context.attach()`` make a span active for
``tracer.trace()`` and log correlation, and a ``tracer.trace()`` span is
what ``trace.get_current_span()`` returns. A span context carries the W3C
tracestate (``dd=`` and the other vendors' entries) both ways.

Mapping: the OTel name is the fallback resource; at ``end()`` the operation
name, resource and span type come from the kind and semantic attributes as
the Datadog agent maps OTLP spans (``_mapping``: ``http.server.request``
with resource ``GET /users/{id}`` from ``http.route``, ``db.statement`` as
a database span's resource, server -> ``web``, client -> ``http`` or the
database's type, others -> ``custom``); kind -> ``span.kind`` (left out
for internal spans, as ddtrace does); status ERROR -> ``error=1`` and
``error.message``; ``http.response.status_code`` -> ``http.status_code``;
attributes -> tags (``operation.name``, ``service.name``,
``resource.name``, ``span.type`` set those fields); events -> span events;
links -> span links. Bad input is logged and ignored, never raised.
"""
import logging
import time
from typing import Any, Iterator, Mapping, Optional, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from ddtrace import _ctrace, _otel_context
from ddtrace._tracer import tracer as _dd_tracer
from ddtrace.constants import ERROR_MSG, SPAN_KIND
from ddtrace.opentelemetry import _mapping

log = logging.getLogger("ddtrace")

__all__ = ["TracerProvider"]

_MAPPED_FIELDS = {"service.name": "service", "resource.name": "resource", "span.type": "span_type"}
_SPECIAL_KEYS = frozenset(_MAPPED_FIELDS) | {"http.response.status_code"}
_KINDS = {kind.name.lower(): kind for kind in SpanKind}


class TracerProvider(otel_trace.TracerProvider):
    """Hands out Tracers writing ctrace spans. Making one also makes OTel's
    current context ctrace's (see ``ddtrace._otel_context``)."""

    def __init__(self) -> None:
        try:
            _otel_context.install()
        except Exception:
            log.warning("ctrace: could not install the OpenTelemetry runtime context", exc_info=True)

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
        span = Span(ddspan, kind, str(name), record_exception, set_status_on_exception)
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
        # use_span attaches the span's context, which activates its ctrace
        # span too, and detaching gives ctrace's active span back.
        with otel_trace.use_span(span, end_on_exit=end_on_exit,
                                 record_exception=record_exception,
                                 set_status_on_exception=set_status_on_exception):
            yield span


def _parent(context: Optional[otel_context.Context]):
    """The ctrace parent: the span of ``context`` (the current context when
    None), ours or remote; None starts a new trace."""
    otel_span = otel_trace.get_current_span(context)
    ddspan = getattr(otel_span, "_ddspan", None)
    if ddspan is not None:
        return ddspan
    parent = _otel_context.remote_context(otel_span.get_span_context())
    if parent is None and context is None:
        # OTel's runtime context is not ours (replaced after the provider
        # was made): ctrace's active span is still the best parent.
        return _ctrace.active()
    return parent


class Span(otel_trace.Span):
    """An OTel span backed by a ctrace Span."""

    def __init__(self, ddspan, kind: SpanKind, name: Optional[str],
                 record_exception: bool = True, set_status_on_exception: bool = True) -> None:
        self._ddspan = ddspan
        self.kind = kind
        # The OTel name, the resource when no attribute says better; None
        # for the view of a ddtrace-API span, whose fields are left alone.
        self._name = name
        self._explicit_resource = False  # a resource.name attribute wins
        self._record_exception = record_exception
        self._set_status_on_exception = set_status_on_exception
        if name is not None and kind is not SpanKind.INTERNAL:
            ddspan.set_tag(SPAN_KIND, kind.name.lower())

    @classmethod
    def _of(cls, ddspan) -> "Span":
        """The OTel view of a span started with the ddtrace API."""
        kind = _KINDS.get(ddspan.get_tag(SPAN_KIND) or "", SpanKind.INTERNAL)
        return cls(ddspan, kind, None)

    def get_span_context(self) -> SpanContext:
        return _otel_context.span_context(self._ddspan)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: Any) -> None:
        # Instrumentations set ~20 attributes per request: plain ones go
        # straight to set_tag, the rest to _set_special.
        ddspan = self._ddspan
        if ddspan.finished:
            return
        if key in _SPECIAL_KEYS or isinstance(value, (list, tuple)):
            self._set_special(key, value)
        else:
            ddspan.set_tag(key, value)

    def _set_special(self, key: str, value: Any) -> None:
        field = _MAPPED_FIELDS.get(key)
        if field is not None:
            setattr(self._ddspan, field, str(value))
            self._explicit_resource |= field == "resource"
        elif key == "http.response.status_code":
            self._ddspan.set_tag("http.status_code", str(value))  # ddtrace's mapping
        else:
            # ddtrace flattens sequences to key.0, key.1, ...
            for index, item in enumerate(value):
                self._ddspan.set_tag("%s.%d" % (key, index), item)

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
            self._name = str(name)
            self._ddspan.resource = self._name

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
        if self._name is not None:
            self._map_fields()
        self._ddspan.finish(end_time / 1e9 if end_time else None)

    def _map_fields(self) -> None:
        ddspan, kind = self._ddspan, self.kind
        tag = ddspan.get_tag
        try:
            ddspan.name = _mapping.operation_name(kind, tag)
            if not self._explicit_resource:
                ddspan.resource = _mapping.resource(kind, tag, self._name)
            if not ddspan.span_type:
                ddspan.span_type = _mapping.span_type(kind, tag)
        except Exception:
            log.debug("ctrace: mapping an OpenTelemetry span failed", exc_info=True)

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_val is not None and self.is_recording():
            if self._record_exception:
                self.record_exception(exc_val)
            if self._set_status_on_exception:
                self.set_status(Status(StatusCode.ERROR, "%s: %s" % (exc_type.__name__, exc_val)))
        super().__exit__(exc_type, exc_val, exc_tb)
