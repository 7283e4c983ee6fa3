"""``loop.create_task(coro, context=...)``: the task starts with the
creator's active span even though it runs in the context it was given.
Without ``context=`` the task's copy of the creator's context already
holds the active span, and the call is passed through untouched."""
import asyncio
from typing import Any

from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils


def get_version() -> str:
    return ""


def _traced_create_task(wrapped, instance, args, kwargs):
    if kwargs.get("context") is None or not tracer.enabled:
        return wrapped(*args, **kwargs)
    active = tracer.context_provider.active()
    coro = args[0] if args else kwargs.get("coro")
    if active is None or not asyncio.iscoroutine(coro):
        return wrapped(*args, **kwargs)

    async def traced_coro() -> Any:
        if tracer.context_provider.active() is not active:
            tracer.context_provider.activate(active)
        return await coro

    task_coro = traced_coro()
    task_coro.__qualname__ = getattr(coro, "__qualname__", task_coro.__qualname__)
    if args:
        args = (task_coro,) + tuple(args[1:])
    else:
        kwargs["coro"] = task_coro
    return wrapped(*args, **kwargs)


def patch() -> None:
    if getattr(asyncio, "_datadog_patch", False):
        return
    asyncio._datadog_patch = True
    trace_utils.wrap(asyncio.BaseEventLoop, "create_task", _traced_create_task)


def unpatch() -> None:
    if not getattr(asyncio, "_datadog_patch", False):
        return
    asyncio._datadog_patch = False
    trace_utils.unwrap(asyncio.BaseEventLoop, "create_task")
