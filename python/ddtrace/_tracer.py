"""The global tracer: ``ddtrace._ctrace.Tracer`` (C) plus the parts that are
cheap in Python and rare at run time: the decorator, configure(), the
context provider object, exit and fork hooks."""
import atexit
import functools
import inspect
import logging
import os
import pathlib
import platform
import sys
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union

_F = TypeVar("_F", bound=Callable[..., Any])

from ddtrace import _ctrace, _processors
from ddtrace._provider import BaseContextProvider, DefaultContextProvider

log = logging.getLogger("ddtrace")
_ctrace._set_logger(log.warning)

#: Seconds the exit hook waits for the last traces to be delivered.
EXIT_FLUSH_TIMEOUT = 2.0


def _inferred_service() -> Optional[str]:
    """The service name ddtrace infers when DD_SERVICE is unset: for
    ``python path/app.py``, the highest directory above the script that
    still holds Python files; for ``python -m pkg``, the module."""
    argv = getattr(sys, "argv", None) or []
    if not argv or not argv[0]:
        return None
    if argv[0] == "-m" and len(argv) > 1:
        return argv[1]
    script = pathlib.Path(argv[0])
    if script.suffix != ".py" or not script.exists():
        return None
    top = script.resolve().parent
    current = top.parent
    while current != current.parent and any(current.glob("*.py")):
        top, current = current, current.parent
    return top.name or None


#: The service ddtrace infers, found once when the tracer is made (it walks
#: directories) and read by every injected log record.
_INFERRED_SERVICE = ""


class Tracer(_ctrace.Tracer):
    """ddtrace's Tracer. Use the global ``ddtrace.tracer``; a second
    instance works but is reported, as in ddtrace 3.x+."""

    # No instance __dict__: `tracer.trace` is looked up on every span.
    __slots__ = ("context_provider", "_user_processors")
    _instances = 0

    def __init__(self) -> None:
        global _INFERRED_SERVICE
        _INFERRED_SERVICE = _inferred_service() or ""
        super().__init__(default_service=_INFERRED_SERVICE or "unnamed-python-service",
                         lang_version=platform.python_version())
        Tracer._instances += 1
        if Tracer._instances > 1:
            log.error("Initializing multiple Tracer instances is not supported. "
                      "Use ``ddtrace.trace.tracer`` instead.")
        self.context_provider: BaseContextProvider = DefaultContextProvider()
        self._user_processors: List[Any] = []

    # -- the decorator ---------------------------------------------------------
    def wrap(self, name: Optional[str] = None, service: Optional[str] = None,
             resource: Optional[str] = None, span_type: Optional[str] = None
             ) -> Callable[[_F], _F]:
        """Decorator tracing each call of a function, method, coroutine
        function, generator or async generator (the span covers the await or
        the whole iteration). The default span name is ``module.function``."""
        def decorator(f):
            if isinstance(f, (classmethod, staticmethod)):
                return type(f)(decorator(f.__func__))
            span_name = name or "%s.%s" % (f.__module__, f.__name__)
            args = (span_name, service, resource, span_type)
            if inspect.iscoroutinefunction(f):
                wrapper = self._wrap_coroutine(f, *args)
            elif inspect.isasyncgenfunction(f):
                wrapper = self._wrap_async_generator(f, *args)
            elif inspect.isgeneratorfunction(f):
                wrapper = self._wrap_generator(f, *args)
            else:
                wrapper = _ctrace.FunctionWrapper(f, self, *args)
            return functools.update_wrapper(wrapper, f)
        return decorator

    def _wrap_coroutine(self, f, name, service, resource, span_type):
        async def traced(*args, **kwargs):
            with self.trace(name, service=service, resource=resource, span_type=span_type):
                return await f(*args, **kwargs)
        return traced

    def _wrap_generator(self, f, name, service, resource, span_type):
        def traced(*args, **kwargs):
            with self.trace(name, service=service, resource=resource, span_type=span_type):
                return (yield from f(*args, **kwargs))
        return traced

    def _wrap_async_generator(self, f, name, service, resource, span_type):
        async def traced(*args, **kwargs):
            with self.trace(name, service=service, resource=resource, span_type=span_type):
                agen = f(*args, **kwargs)
                try:
                    value = await agen.__anext__()
                    while True:
                        try:
                            sent = yield value
                        except GeneratorExit:
                            await agen.aclose()
                            raise
                        except BaseException as exc:  # forwarded, as athrow does
                            value = await agen.athrow(exc)
                        else:
                            value = await agen.asend(sent)
                except StopAsyncIteration:
                    return
        return traced

    # -- configuration -----------------------------------------------------------
    def configure(self, context_provider: Optional[BaseContextProvider] = None,
                  trace_processors: Optional[List[Any]] = None, **unsupported: Any) -> None:
        """ddtrace's configure(). The C core always keeps the active span in
        its ContextVar; a custom provider is stored for code that reads
        ``tracer.context_provider``."""
        if context_provider is not None:
            self.context_provider = context_provider
        if trace_processors is not None:
            self._user_processors = list(trace_processors)
            _processors.configure(self, self._user_processors)
        for key in unsupported:
            log.warning("tracer.configure(%s=...) is not supported by ctrace; ignored", key)

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Flush (waiting at most ``timeout`` seconds) and stop sending;
        spans started afterwards are not sent."""
        self._shutdown(timeout)

    def get_log_correlation_context(
            self, active: Optional[Union[_ctrace.Span, _ctrace.Context]] = None) -> Dict[str, str]:
        """The ids of the active span or context and the service, env and
        version, formatted as ddtrace's log injection formats them: trace id
        in decimal, or 32 hex digits when its upper 64 bits are set; "0"
        ids and "" strings when nothing is active or tracing is disabled."""
        if active is None and self.enabled:
            active = self.context_provider.active()
        trace_id = span_id = "0"
        if active is not None:
            tid = active.trace_id or 0
            trace_id = (("%032x" % tid) if tid >> 64 else str(tid)) if tid else "0"
            span_id = str(active.span_id) if active.span_id else "0"
        # ddtrace 4.x's keys carry the "dd." prefix of the log record fields.
        return {
            "dd.trace_id": trace_id,
            "dd.span_id": span_id,
            "dd.service": os.environ.get("DD_SERVICE") or _INFERRED_SERVICE,
            "dd.env": os.environ.get("DD_ENV", ""),
            "dd.version": os.environ.get("DD_VERSION", ""),
        }

    def __repr__(self) -> str:
        return "<ddtrace.trace.Tracer agent=%s>" % self._agent_url


tracer = Tracer()


def _exit_flush() -> None:
    # Deliver what is buffered, but never hold the process up for long.
    tracer.flush(EXIT_FLUSH_TIMEOUT)


atexit.register(_exit_flush)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ctrace._after_fork_child)
