"""``ddtrace.patch(structlog=True)``: a processor first in structlog's
chain adds the active trace's ids and the service, env and version to
every event dict (``"0"`` ids when nothing is active), as ddtrace 4.16's
integration does.

Where the chain comes from decides what is wrapped: ``structlog.configure``
(its ``processors`` argument, when it has any), ``get_logger`` /
``getLogger`` (the default processors, for programs that never configure)
and ``reset_defaults`` (which rebuilds them). The processor is added once;
``DD_LOGS_INJECTION=false`` (read at patch time) keeps it out of the way.
A failure inside it is counted and logged once, and the event goes on
unchanged.
"""
import structlog

from ddtrace import _logs
from ddtrace._config import config
from ddtrace.contrib import _safety
from ddtrace.contrib.trace_utils import unwrap, wrap

config._add("structlog", {})

_injection = {"enabled": False}


def get_version() -> str:
    return getattr(structlog, "__version__", "")


def _tracer_injection(_logger, _method_name, event_dict):
    if _injection["enabled"]:
        with _safety.guard("structlog"):
            from ddtrace._tracer import tracer
            event_dict.update(tracer.get_log_correlation_context())
    return event_dict


def _with_injection(processors):
    return [_tracer_injection] + [p for p in processors if p is not _tracer_injection]


def _inject_into_defaults() -> None:
    defaults = structlog._config._CONFIG.default_processors
    if defaults and _tracer_injection not in list(defaults):
        structlog._config._CONFIG.default_processors = _with_injection(list(defaults))


def _w_get_logger(func, instance, args, kwargs):
    with _safety.guard("structlog"):
        _inject_into_defaults()
    return func(*args, **kwargs)


def _w_configure(func, instance, args, kwargs):
    with _safety.guard("structlog"):
        if "processors" in kwargs:
            if kwargs["processors"]:
                kwargs["processors"] = _with_injection(list(kwargs["processors"]))
        elif args and args[0]:
            args = (_with_injection(list(args[0])),) + tuple(args[1:])
    return func(*args, **kwargs)


def _w_reset_defaults(func, instance, args, kwargs):
    result = func(*args, **kwargs)
    with _safety.guard("structlog"):
        _inject_into_defaults()
    return result


_WRAPPERS = {"get_logger": _w_get_logger, "getLogger": _w_get_logger,
             "configure": _w_configure, "reset_defaults": _w_reset_defaults}


def patch() -> None:
    if getattr(structlog, "_datadog_patch", False):
        return
    structlog._datadog_patch = True
    _injection["enabled"] = _logs.injection_enabled()
    for name, wrapper in _WRAPPERS.items():
        if hasattr(structlog, name):
            wrap(structlog, name, wrapper)


def unpatch() -> None:
    if not getattr(structlog, "_datadog_patch", False):
        return
    structlog._datadog_patch = False
    for name in _WRAPPERS:
        if hasattr(structlog, name):
            unwrap(structlog, name)
