"""OpenTelemetry's runtime context over ctrace's active span: one current
span for both APIs.

OpenTelemetry keeps "the current context" in a runtime context object
(``opentelemetry.context._RUNTIME_CONTEXT``) chosen at import by
``OTEL_PYTHON_CONTEXT`` among the ``opentelemetry_context`` entry points.
ctrace registers ``ddcontextvars_context`` (ddtrace's name, so the same
setting works with either tracer) for ``DDRuntimeContext`` below, and
``ddtrace.opentelemetry.TracerProvider()`` installs it too when OTel's
default is in place, so the provider alone is enough.

- ``attach(context)`` makes the span of ``context`` ctrace's active span
  too: an OTel span of ours activates its ctrace span, a remote or foreign
  span (``NonRecordingSpan``, another SDK's) activates a ctrace Context of
  its ids and tracestate, a context without a span leaves nothing active.
  ``trace.use_span()`` and instrumentations' ``context.attach()`` therefore
  parent ``tracer.trace()`` spans and show in log correlation.
- ``get_current()`` is the attached context, with ctrace's active span as
  its span when that differs (a ``tracer.trace()`` span opened inside an
  OTel span): OTel code then parents under it and propagates it.
- Baggage: what the attached context carries is set on the ctrace
  span's (or Context's) baggage, so ctrace's propagator forwards it; the
  baggage of a ctrace span or Context shown to OTel is in the context
  ``get_current()`` returns.
- ``detach(token)`` restores both the OTel context and ctrace's active span
  of before the attach (ddtrace's own runtime context cannot: its detach is
  a no-op).

Every other key of the context (baggage, instrumentations' suppression
flags) is kept as OTel's default runtime context keeps it. Nothing here
imports ``opentelemetry.trace`` at import time: this module is loaded while
``opentelemetry.context`` itself is being imported.
"""
import contextvars
import logging
import os
from typing import Any, NamedTuple, Optional

from wrapt.importer import when_imported

from ddtrace import _ctrace

log = logging.getLogger("ddtrace")

_NAME = "ddcontextvars_context"


class _Token(NamedTuple):
    otel: contextvars.Token
    previous_active: Any


class DDRuntimeContext:
    """An OTel ``_RuntimeContext`` whose current span is ctrace's."""

    def __init__(self) -> None:
        from opentelemetry.context.context import Context
        self._current = contextvars.ContextVar("ctrace_otel_context", default=Context())

    # OTel calls these with no guard of its own (detach aside): a failure
    # of ours costs the ctrace side of one context, never the caller.
    def attach(self, context) -> _Token:
        previous = _ctrace.active()
        token = _Token(self._current.set(context), previous)
        try:
            active = _ctrace_view(context)
            _ctrace.activate(active)
            if active is not None:
                _baggage_to_ctrace(context, active)
        except Exception:
            log.debug("ctrace: activating an OpenTelemetry context failed", exc_info=True)
        return token

    def get_current(self):
        context = self._current.get()
        active = _ctrace.active()
        if active is None:
            return context
        try:
            otel = _otel()
            span = otel.get_current_span(context)
            if _backs(span, active):
                return context
            return _baggage_to_otel(active, otel.set_span_in_context(_otel_view(active), context))
        except Exception:
            log.debug("ctrace: showing the active span to OpenTelemetry failed", exc_info=True)
            return context

    def detach(self, token: _Token) -> None:
        self._current.reset(token.otel)
        _ctrace.activate(token.previous_active)


def install() -> None:
    """Makes OTel use ``DDRuntimeContext`` if it still uses its default
    runtime context (the provider was set up in code, without
    ``OTEL_PYTHON_CONTEXT``); what is attached now is carried over."""
    import opentelemetry.context as otel_context
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

    current = otel_context._RUNTIME_CONTEXT
    if type(current) is not ContextVarsRuntimeContext:
        return  # ours already, or a runtime context the user chose
    ours = DDRuntimeContext()
    ours._current.set(current.get_current())
    otel_context._RUNTIME_CONTEXT = ours


def enable_at_import() -> None:
    """``DD_TRACE_OTEL_ENABLED=true`` under ``ddtrace-run``: OTel loads this
    runtime context (the variable reaches child processes too, as with
    ddtrace) and gets ctrace's TracerProvider once ``opentelemetry.trace``
    is imported."""
    os.environ["OTEL_PYTHON_CONTEXT"] = _NAME
    when_imported("opentelemetry.trace")(_set_provider)


def _set_provider(module) -> None:
    try:
        from ddtrace.opentelemetry import TracerProvider
        module.set_tracer_provider(TracerProvider())
    except Exception:
        log.warning("ctrace: could not set the OpenTelemetry TracerProvider", exc_info=True)


class _OTel:
    """opentelemetry.trace's functions, imported on first use."""

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.span import DEFAULT_TRACE_OPTIONS
        self.get_current_span = trace.get_current_span
        self.set_span_in_context = trace.set_span_in_context
        self.NonRecordingSpan = trace.NonRecordingSpan
        self.SpanContext = trace.SpanContext
        self.TraceFlags = trace.TraceFlags
        self.TraceState = trace.TraceState
        self.DEFAULT_TRACE_OPTIONS = DEFAULT_TRACE_OPTIONS
        from opentelemetry.baggage import _BAGGAGE_KEY
        from opentelemetry.context import set_value
        self.BAGGAGE_KEY = _BAGGAGE_KEY
        self.set_value = set_value
        from ddtrace.opentelemetry import Span
        self.Span = Span


_otel_functions: Optional[_OTel] = None


def _otel() -> _OTel:
    global _otel_functions
    if _otel_functions is None:
        _otel_functions = _OTel()
    return _otel_functions


def _ctrace_context(active):
    return active.context if isinstance(active, _ctrace.Span) else active


def _baggage_to_ctrace(context, active) -> None:
    baggage = context.get(_otel().BAGGAGE_KEY)
    if not baggage:
        return
    ctrace_context = _ctrace_context(active)
    for key, value in baggage.items():
        value = str(value)
        if ctrace_context.get_baggage_item(key) != value:
            ctrace_context.set_baggage_item(key, value)


def _baggage_to_otel(active, context):
    items = _ctrace_context(active).get_all_baggage_items()
    if not items:
        return context
    otel = _otel()
    merged = dict(context.get(otel.BAGGAGE_KEY) or {})
    merged.update(items)
    return otel.set_value(otel.BAGGAGE_KEY, merged, context)


def _backs(otel_span, active) -> bool:
    """Whether ``otel_span`` already is ``active`` (a ctrace Span or Context)."""
    ddspan = getattr(otel_span, "_ddspan", None)
    if ddspan is not None:
        return ddspan is active
    if isinstance(active, _ctrace.Span):
        return False
    span_context = otel_span.get_span_context()
    return span_context.trace_id == active.trace_id and span_context.span_id == active.span_id


def _ctrace_view(context):
    """What ctrace should have active for the OTel ``context``."""
    otel = _otel()
    span = otel.get_current_span(context)
    ddspan = getattr(span, "_ddspan", None)
    if ddspan is not None:
        return ddspan
    return remote_context(span.get_span_context())


def remote_context(span_context):
    """A ctrace Context for a span OTel knows by its SpanContext only (a
    remote parent, another SDK's span), tracestate included; None for the
    invalid span."""
    if not span_context.is_valid:
        return None
    from ddtrace.propagation.http import _context_from_w3c
    flags = span_context.trace_flags
    # A SpanContext made without flags holds DEFAULT_TRACE_OPTIONS itself:
    # no upstream decision, so ctrace decides (as ddtrace does).
    sampled = None if flags is _otel().DEFAULT_TRACE_OPTIONS else flags.sampled
    return _context_from_w3c(span_context.trace_id, span_context.span_id, sampled,
                             span_context.trace_state.to_header())


def _otel_view(active):
    """The OTel span standing for ctrace's active Span or Context."""
    otel = _otel()
    if isinstance(active, _ctrace.Span):
        return otel.Span._of(active)
    return otel.NonRecordingSpan(span_context(active, is_remote=active._is_remote))


def span_context(ctrace_object, is_remote: bool = False):
    """The OTel SpanContext of a ctrace Span or Context: ids, the sampled
    flag (deciding sampling first if nobody has) and the W3C tracestate
    with its ``dd=`` member and the other vendors' entries."""
    from ddtrace.propagation.http import _w3c_tracestate
    otel = _otel()
    tracestate = _w3c_tracestate(ctrace_object)
    context = ctrace_object.context if isinstance(ctrace_object, _ctrace.Span) else ctrace_object
    priority = context.sampling_priority
    flags = otel.TraceFlags(otel.TraceFlags.SAMPLED if priority is None or priority > 0 else 0)
    state = otel.TraceState.from_header([tracestate]) if tracestate else otel.TraceState()
    return otel.SpanContext(ctrace_object.trace_id or 0, ctrace_object.span_id or 0,
                            is_remote=is_remote, trace_flags=flags, trace_state=state)
