"""ctrace's ``ddtrace``: Datadog's manual tracing API with a C core.

``from ddtrace import tracer`` (ddtrace 2.x and Datadog's docs) and
``from ddtrace.trace import tracer`` (3.x/4.x) give the same global tracer.
Spans, ids, tags, sampling, encoding and delivery live in C
(``ddtrace._ctrace``); this package is the thin Python skin.
"""
from ddtrace._ctrace import __version__ as _ctrace_version
from ddtrace._tracer import Tracer, tracer
from ddtrace._ctrace import Span, Context

__version__ = _ctrace_version
__ctrace__ = True

__all__ = ["tracer", "Tracer", "Span", "Context", "__version__"]
