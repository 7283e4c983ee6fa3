"""The ddtrace 3.x/4.x import path: ``from ddtrace.trace import tracer``."""
from ddtrace._ctrace import Context, Span
from ddtrace._filters import TraceFilter
from ddtrace._pin import Pin
from ddtrace._provider import BaseContextProvider, DefaultContextProvider
from ddtrace._tracer import Tracer, tracer

__all__ = ["tracer", "Tracer", "Span", "Context", "TraceFilter", "Pin",
           "BaseContextProvider", "DefaultContextProvider"]
