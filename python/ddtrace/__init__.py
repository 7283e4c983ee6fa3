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

__all__ = ["tracer", "Tracer", "Span", "Context", "__version__", "patch", "patch_all"]


def patch(raise_errors: bool = True, **patch_modules) -> None:
    """ddtrace's ``patch()``. Only ``logging=True`` does something: ctrace
    does not instrument libraries, so any other module is reported once in
    a warning and ignored (never raised, unlike ddtrace's missing modules)."""
    from ddtrace import _logs
    import logging

    unsupported = sorted(name for name, on in patch_modules.items() if on and name != "logging")
    if patch_modules.get("logging"):
        _logs.patch()
    if unsupported:
        logging.getLogger("ddtrace").warning(
            "ddtrace.patch(): ctrace does not instrument libraries; ignored: %s",
            ", ".join(unsupported))


def patch_all(**patch_modules) -> None:
    """ddtrace's ``patch_all()``: of its defaults, ctrace provides logging."""
    patch_modules.setdefault("logging", True)
    patch(raise_errors=False, **{k: v for k, v in patch_modules.items() if k == "logging"})
