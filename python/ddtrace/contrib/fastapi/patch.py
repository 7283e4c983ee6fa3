"""FastAPI patching: Starlette's route naming and background tasks, the
ASGI middleware around the app's middleware stack (FastAPI builds the
stack itself, so it is wrapped there rather than in ``__init__``), and a
span around ``serialize_response`` (not ``jsonable_encoder``, which
recurses and would cost more than it tells)."""
import fastapi
import fastapi.applications
import fastapi.routing
import starlette.routing

from ddtrace import config
from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils
from ddtrace.contrib.asgi.middleware import TraceMiddleware
from ddtrace.contrib.starlette.patch import (_resolve_route_resource, add_config, trace_background_tasks,
                                             traced_handler)

add_config("fastapi")


def get_version() -> str:
    return getattr(fastapi, "__version__", "")


def _wrap_middleware_stack(wrapped, instance, args, kwargs):
    return TraceMiddleware(app=wrapped(*args, **kwargs), integration_config=config.fastapi,
                           route_resolver=_resolve_route_resource)


async def _traced_serialize_response(wrapped, instance, args, kwargs):
    if not tracer.enabled:
        return await wrapped(*args, **kwargs)
    with tracer.trace("fastapi.serialize_response"):
        return await wrapped(*args, **kwargs)


def patch() -> None:
    if getattr(fastapi, "_datadog_patch", False):
        return
    fastapi._datadog_patch = True
    trace_utils.wrap(fastapi.applications, "FastAPI.build_middleware_stack", _wrap_middleware_stack)
    trace_utils.wrap(fastapi.routing, "serialize_response", _traced_serialize_response)
    if not trace_utils.iswrapped(fastapi.BackgroundTasks.add_task):
        trace_utils.wrap(fastapi, "BackgroundTasks.add_task", trace_background_tasks(fastapi))
    if not trace_utils.iswrapped(fastapi.routing.APIRoute.handle):
        trace_utils.wrap(fastapi.routing, "APIRoute.handle", traced_handler)
    if not trace_utils.iswrapped(starlette.routing.Mount.handle):
        trace_utils.wrap(starlette.routing, "Mount.handle", traced_handler)


def unpatch() -> None:
    if not getattr(fastapi, "_datadog_patch", False):
        return
    fastapi._datadog_patch = False
    trace_utils.unwrap(fastapi.applications.FastAPI, "build_middleware_stack")
    trace_utils.unwrap(fastapi.routing, "serialize_response")
    trace_utils.unwrap(fastapi.routing.APIRoute, "handle")
    trace_utils.unwrap(fastapi.BackgroundTasks, "add_task")
