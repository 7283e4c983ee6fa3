"""ctrace's ``ddtrace``: Datadog's tracing API with a C core.

``from ddtrace import tracer`` (ddtrace 2.x and Datadog's docs) and
``from ddtrace.trace import tracer`` (3.x/4.x) give the same global tracer.
Spans, ids, tags, sampling, encoding and delivery live in C
(``ddtrace._ctrace``); this package is the thin Python skin, plus the
integrations (``ddtrace.contrib``) that ``ddtrace.patch()``,
``patch_all()`` and ``ddtrace-run`` turn on.
"""
from ddtrace._ctrace import __version__ as _ctrace_version
from ddtrace._tracer import Tracer, tracer
from ddtrace._ctrace import Span, Context
from ddtrace._config import config
from ddtrace._monkey import patch, patch_all
from ddtrace._pin import Pin

__version__ = _ctrace_version
__ctrace__ = True


class DDTraceDeprecationWarning(DeprecationWarning):
    """What ddtrace warns with when a public name is on its way out."""
    __module__ = "ddtrace"


__all__ = ["tracer", "Tracer", "Span", "Context", "config", "patch", "patch_all", "Pin",
           "DDTraceDeprecationWarning", "__version__"]
