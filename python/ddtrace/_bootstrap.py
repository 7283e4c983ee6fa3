"""What ``ddtrace-run`` and ``import ddtrace.auto`` install, done once.

Both end here: ``ddtrace-run`` puts ``ddtrace/bootstrap`` first on
``PYTHONPATH`` so that the program's interpreter imports our
``sitecustomize`` before any program code, and that module imports
``ddtrace.auto``. Nothing here raises: a broken setup must not stop the
application from starting.
"""
import logging
import os

_installed = False


def _tracing_enabled() -> bool:
    return os.environ.get("DD_TRACE_ENABLED", "true").strip().lower() not in ("false", "0")


def install() -> None:
    """Make the global tracer and patch the default integrations (logging
    among them) as ``ddtrace-run`` does; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        if os.environ.get("DD_TRACE_DEBUG", "").strip().lower() in ("true", "1"):
            logging.getLogger("ddtrace").setLevel(logging.DEBUG)
        from ddtrace._tracer import tracer  # noqa: F401  (reads DD_* now)
        from ddtrace._config import config
        if config._otel_enabled:
            from ddtrace import _otel_context
            _otel_context.enable_at_import()
        # ddtrace 4.16 patches nothing when tracing is disabled.
        if _tracing_enabled():
            from ddtrace._monkey import _patch_all
            _patch_all()
    except Exception:
        logging.getLogger("ddtrace").warning("ctrace: setting up tracing failed", exc_info=True)
