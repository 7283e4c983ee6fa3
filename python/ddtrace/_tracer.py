"""The global tracer: ``ddtrace._ctrace.Tracer`` (C) plus the parts that are
cheap in Python and rare at run time: the decorator, configure(), the
context provider object, exit and fork hooks."""
import atexit
import functools
import importlib.util
import inspect
import logging
import os
import pathlib
import platform
import re
import sys
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union

_F = TypeVar("_F", bound=Callable[..., Any])

from ddtrace import _ctrace, _processors
from ddtrace._provider import BaseContextProvider, DefaultContextProvider

log = logging.getLogger("ddtrace")
_ctrace._set_logger(log.warning)

#: Seconds the exit hook waits for the last traces to be delivered.
EXIT_FLUSH_TIMEOUT = 2.0


_PYTHON_COMMAND = re.compile(r"(^|/)(?!.*\.py$)(python(\d+(\.\d+)?)?$)")


def _is_executable(path: str) -> bool:
    """A file under some ``*bin`` directory (pytest, gunicorn, ...)."""
    path = os.path.normpath(path)
    if not os.path.isfile(path):
        return False
    directory = os.path.dirname(path)
    while directory and os.path.dirname(directory) != directory:
        if os.path.basename(directory).endswith("bin"):
            return True
        directory = os.path.dirname(directory)
    return False


def _service_of_path(path: pathlib.Path) -> Optional[str]:
    """The dotted package holding path (a chain of ``__init__.py``
    directories), else the highest directory above it that still holds
    Python files."""
    directory = path if path.is_dir() else path.parent
    packages: List[str] = []
    current = directory
    while current != current.parent and (current / "__init__.py").exists():
        packages.insert(0, current.name)
        current = current.parent
    if packages:
        return ".".join(packages)
    top = current = directory
    while current != current.parent and any(current.glob("*.py")):
        top, current = current, current.parent
    return top.name or None


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _service_from_args(args: List[str], skip_after_flags: bool) -> Optional[str]:
    after_flag = module_next = False
    for arg in args:
        is_flag = arg.startswith("-") and not arg.startswith("--ddtrace")
        if module_next and _module_exists(arg):
            return arg
        if not ((after_flag and skip_after_flags) or is_flag or "=" in arg):
            path = pathlib.Path(arg).resolve()
            if path.exists():
                return _service_of_path(path)
        if is_flag and arg == "-m":
            module_next = True
        after_flag = is_flag
    return None


def _inferred_service(argv: Optional[List[str]] = None) -> Optional[str]:
    """The service ddtrace 4 infers when DD_SERVICE is unset, from the
    command line: ``python -m pkg`` gives the module; a script or a path
    argument (``pytest tests/``) gives the package holding it, else the
    highest directory above it holding Python files. Interpreters and
    programs under a ``bin`` directory are skipped. Never raises."""
    try:
        args = list(sys.argv if argv is None else argv)
        if not any(_PYTHON_COMMAND.search(a) for a in args + [sys.executable]):
            return None
        args = [a for a in args if not _PYTHON_COMMAND.search(a) and not _is_executable(a)]
        return _service_from_args(args, True) or _service_from_args(args, False)
    except Exception:  # inference must never break the application
        return None


#: The default service as ddtrace's config.service holds it (DD_SERVICE,
#: DD_TAGS' service, else the inferred one; "" when none), found once when
#: the tracer is made (inference walks directories) and read by every
#: injected log record. DD_VERSION and DD_ENV, as log records carry them,
#: are read then too, not once per record.
_CONFIG_SERVICE = ""
_LOG_VERSION = _LOG_ENV = ""
_UNNAMED_SERVICE = "unnamed-python-service"


class Tracer(_ctrace.Tracer):
    """ddtrace's Tracer. Use the global ``ddtrace.tracer``; a second
    instance works but is reported, as in ddtrace 3.x+."""

    # No instance __dict__: `tracer.trace` is looked up on every span.
    __slots__ = ("context_provider", "_user_processors")
    _instances = 0

    def __init__(self) -> None:
        global _CONFIG_SERVICE, _LOG_VERSION, _LOG_ENV
        _LOG_VERSION, _LOG_ENV = os.environ.get("DD_VERSION", ""), os.environ.get("DD_ENV", "")
        inferred = _inferred_service()
        super().__init__(default_service=inferred or _UNNAMED_SERVICE,
                         lang_version=platform.python_version())
        # ddtrace has no service at all when nothing names one; ctrace's
        # spans then carry "unnamed-python-service", but logs say "".
        _CONFIG_SERVICE = self._default_service if (
            inferred or self._default_service != _UNNAMED_SERVICE) else ""
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
        spans started afterwards are not sent. As in ddtrace, the tracer is
        then disabled and nothing stays active."""
        self._shutdown(timeout)
        self.enabled = False
        _ctrace.activate(None)

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
            "dd.service": _CONFIG_SERVICE,
            "dd.version": _LOG_VERSION,
            "dd.env": _LOG_ENV,
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
