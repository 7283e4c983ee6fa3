"""``ThreadPoolExecutor.submit`` carries the active span to the worker.

A worker thread does not inherit the submitter's contextvars, so the
submitter's active span (or Context, when only a remote context is
active) is taken at ``submit`` and made active around the call in the
worker, inside a copy of the worker's own context so nothing leaks into
the next job. ctrace hands over the Span itself where ddtrace hands a
Context copy: ctrace groups spans into chunks by local root, so only the
Span keeps the worker's spans in the request's chunk (ddtrace groups by
trace id and gets there either way; see the README).
"""
import contextvars
import sys
from typing import Any, Callable

from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils


def get_version() -> str:
    return ""


def _run_with(active: Any, fn: Callable, args: tuple, kwargs: dict) -> Any:
    def run() -> Any:
        tracer.context_provider.activate(active)
        return fn(*args, **kwargs)
    return contextvars.copy_context().run(run)


def _traced_submit(wrapped, instance, args, kwargs):
    active = tracer.context_provider.active()
    if active is None:
        return wrapped(*args, **kwargs)
    if "fn" in kwargs:
        fn, fn_args = kwargs.pop("fn"), args
    elif args:
        fn, fn_args = args[0], args[1:]
    else:
        return wrapped(*args, **kwargs)
    return wrapped(_run_with, active, fn, fn_args, kwargs)


def _thread_module() -> Any:
    # the module of this interpreter, even after a test reloaded it
    module = sys.modules.get("concurrent.futures.thread")
    if module is None:
        import concurrent.futures.thread as module
    return module


def patch() -> None:
    thread = _thread_module()
    if getattr(thread, "__datadog_patch", False):
        return
    thread.__datadog_patch = True
    trace_utils.wrap(thread, "ThreadPoolExecutor.submit", _traced_submit)


def unpatch() -> None:
    thread = _thread_module()
    if not getattr(thread, "__datadog_patch", False):
        return
    thread.__datadog_patch = False
    trace_utils.unwrap(thread.ThreadPoolExecutor, "submit")
