"""OpenTracing bridge: ``ddtrace.opentracer.Tracer``.

Code written against the ``opentracing`` API gets ctrace spans: each
OpenTracing span wraps a ddtrace Span, so spans of both APIs nest in one
trace and go through the same C core, sampler and writer. The active span
is ddtrace's (the ContextVar of the C core), which is what makes the two
APIs see each other's spans; the scope manager only remembers what to give
back when a scope closes. As in ddtrace, the tags ``service.name``,
``resource.name`` and ``span.type`` set the span's service, resource and
type, and HTTP_HEADERS / TEXT_MAP carriers use ddtrace's HTTPPropagator.
"""
import contextvars
from typing import Any, Dict, Optional

import opentracing
from opentracing import Format, Scope, ScopeManager

import ddtrace
from ddtrace._ctrace import Context
from ddtrace.propagation.http import HTTPPropagator

__all__ = ["Tracer", "Span", "SpanContext"]

_SPECIAL_TAGS = {"service.name": "service", "resource.name": "resource", "span.type": "span_type"}


class SpanContext(opentracing.SpanContext):
    """Wraps a ddtrace Context; baggage is the Context's baggage."""

    def __init__(self, context: Optional[Context] = None):
        self._dd_context = context if context is not None else Context()

    @property
    def baggage(self) -> Dict[str, str]:
        return self._dd_context.get_all_baggage_items()


class Span(opentracing.Span):
    def __init__(self, tracer: "Tracer", dd_span):
        super().__init__(tracer, SpanContext(dd_span.context))
        self._dd_span = dd_span

    def set_operation_name(self, operation_name: str) -> "Span":
        self._dd_span.name = operation_name
        return self

    def set_tag(self, key: str, value: Any) -> "Span":
        attribute = _SPECIAL_TAGS.get(key)
        if attribute:
            setattr(self._dd_span, attribute, value)
        elif key == "error":
            self._dd_span.error = 1 if value else 0
        else:
            self._dd_span.set_tag(key, value)
        return self

    def log_kv(self, key_values: Dict[str, Any], timestamp: Optional[float] = None) -> "Span":
        # ddtrace's bridge turns error logs into error tags; other fields
        # become tags, the only place the Datadog model has for them
        if key_values.get("event") == "error" or "error.object" in key_values:
            self._dd_span.error = 1
        for key, value in key_values.items():
            if key == "error.object":
                exc = value
                self._dd_span.set_exc_info(type(exc), exc, exc.__traceback__)
            elif key not in ("event",):
                self._dd_span.set_tag(key, value)
        return self

    def set_baggage_item(self, key: str, value: str) -> "Span":
        self._dd_span.context.set_baggage_item(key, value)
        return self

    def get_baggage_item(self, key: str) -> Optional[str]:
        return self._dd_span.context.get_baggage_item(key)

    def finish(self, finish_time: Optional[float] = None) -> None:
        self._dd_span.finish(finish_time)


class _Scope(Scope):
    def __init__(self, manager: "_ScopeManager", span: Span, finish_on_close: bool, token):
        super().__init__(manager, span)
        self._finish_on_close = finish_on_close
        self._token = token

    def close(self) -> None:
        if self._finish_on_close:
            self.span.finish()
        self.manager._restore(self._token)


class _ScopeManager(ScopeManager):
    """Activation goes to ddtrace's active span, so ddtrace-API spans
    started inside a scope are its children."""

    def __init__(self, dd_tracer):
        self._dd_tracer = dd_tracer
        self._scope = contextvars.ContextVar("ctrace_opentracing_scope", default=None)

    def activate(self, span: Span, finish_on_close: bool) -> Scope:
        previous = (self._scope.get(), self._dd_tracer.context_provider.active())
        scope = _Scope(self, span, finish_on_close, previous)
        self._scope.set(scope)
        self._dd_tracer.context_provider.activate(span._dd_span)
        return scope

    def _restore(self, previous) -> None:
        scope, dd_active = previous
        self._scope.set(scope)
        self._dd_tracer.context_provider.activate(dd_active)

    @property
    def active(self) -> Optional[Scope]:
        scope = self._scope.get()
        # a scope whose span finished outside of it is no longer active
        if scope is not None and scope.span._dd_span.finished and not scope._finish_on_close:
            return None
        return scope


class Tracer(opentracing.Tracer):
    """An OpenTracing tracer over ctrace (``ddtrace.opentracer.Tracer``)."""

    def __init__(self, service_name: Optional[str] = None, config: Optional[dict] = None,
                 scope_manager: Optional[ScopeManager] = None, dd_tracer=None):
        self._dd_tracer = dd_tracer or ddtrace.tracer
        self._service_name = service_name
        super().__init__(scope_manager=scope_manager or _ScopeManager(self._dd_tracer))

    def _parent_of(self, child_of, references, ignore_active_span):
        if child_of is None and references:
            child_of = references[0].referenced_context
        if isinstance(child_of, Span):
            return child_of._dd_span
        if isinstance(child_of, SpanContext):
            return child_of._dd_context
        if child_of is None and not ignore_active_span:
            return self._dd_tracer.context_provider.active()
        return None

    def start_span(self, operation_name=None, child_of=None, references=None, tags=None,
                   start_time=None, ignore_active_span=False) -> Span:
        parent = self._parent_of(child_of, references, ignore_active_span)
        dd_span = self._dd_tracer.start_span(operation_name or "opentracing.span",
                                             child_of=parent, service=self._service_name)
        if start_time is not None:
            dd_span.start = start_time
        span = Span(self, dd_span)
        for key, value in (tags or {}).items():
            span.set_tag(key, value)
        return span

    def start_active_span(self, operation_name, child_of=None, references=None, tags=None,
                          start_time=None, ignore_active_span=False, finish_on_close=True) -> Scope:
        span = self.start_span(operation_name, child_of, references, tags, start_time,
                               ignore_active_span)
        return self.scope_manager.activate(span, finish_on_close)

    def inject(self, span_context: SpanContext, format: str, carrier: dict) -> None:
        if format not in (Format.HTTP_HEADERS, Format.TEXT_MAP):
            raise opentracing.UnsupportedFormatException(format)
        HTTPPropagator.inject(span_context._dd_context, carrier)

    def extract(self, format: str, carrier: dict) -> SpanContext:
        if format not in (Format.HTTP_HEADERS, Format.TEXT_MAP):
            raise opentracing.UnsupportedFormatException(format)
        context = HTTPPropagator.extract(carrier)
        if not context.trace_id:
            raise opentracing.SpanContextCorruptedException("no trace in the carrier")
        return SpanContext(context)
