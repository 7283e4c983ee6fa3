"""Starlette patching, and the route naming FastAPI shares.

A request span is created by the ASGI middleware with the raw path as
resource; the router then names it: each ``Route.handle``/``Mount.handle``
it goes through appends its path template to ``resource_paths``, so a
request to ``/sub/items/x`` through ``Mount("/sub")`` and
``Route("/items/{item}")`` gets ``GET /sub/items/{item}`` on the outer
span and ``GET /items/{item}`` on the sub-app's. When no handler is
reached (405, a middleware answering first) the span is named from the
first route that matches the scope, as ddtrace does.
"""
import inspect
import sys
from typing import Any, Callable, List, Mapping, Optional, Tuple

import starlette
import starlette.applications
import starlette.background
import starlette.routing
from starlette.middleware import Middleware

from ddtrace import config
from ddtrace._tracer import tracer
from ddtrace.contrib import trace_utils
from ddtrace.contrib._safety import failed
from ddtrace.contrib.asgi.middleware import TraceMiddleware
from ddtrace.ext import http

def add_config(name: str) -> None:
    """ddtrace's defaults for a Starlette-based framework: its name as the
    service (when DD_SERVICE is unset) and in ``<name>.request``."""
    config._add(name, dict(_default_service=name, request_span_name="%s.request" % name,
                           distributed_tracing=True))


add_config("starlette")


def get_version() -> str:
    return getattr(starlette, "__version__", "")


def _traced_init(wrapped: Callable, instance: Any, args: tuple, kwargs: dict) -> Any:
    middleware = list(kwargs.pop("middleware", None) or [])
    middleware.insert(0, Middleware(TraceMiddleware, integration_config=config.starlette,
                                    route_resolver=_resolve_route_resource))
    kwargs["middleware"] = middleware
    return wrapped(*args, **kwargs)


# -- naming the request span by route ------------------------------------------------
def _resolve_route_resource(scope: Mapping[str, Any], span: Any) -> None:
    """The middleware's ``route_resolver``: names a span the router did not."""
    match = _matching_route_path(getattr(scope.get("app"), "routes", None), scope)
    if match is None:
        return
    path, is_route = match
    method = scope.get("method")
    span.resource = "%s %s" % (method, path) if method else path
    if is_route:
        span.set_tag(http.ROUTE, path)


def _matching_route_path(routes: Any, scope: Mapping[str, Any], prefix: str = "") -> Optional[Tuple[str, bool]]:
    """(path template, is a Route) of the first full match, else of the
    first partial one."""
    partial = None
    for route in routes or ():
        found = _match_route(route, scope, prefix)
        if found is None:
            continue
        match, resolved = found
        if match == starlette.routing.Match.FULL:
            return resolved
        if partial is None:
            partial = resolved
    return partial


def _match_route(route: Any, scope: Mapping[str, Any], prefix: str) -> Optional[Tuple[Any, Tuple[str, bool]]]:
    routing = starlette.routing
    is_host = isinstance(route, routing.Host)
    if not isinstance(route, (routing.Route, routing.Mount)) and not is_host:
        return None
    match, child_scope = route.matches(scope)
    if match == routing.Match.NONE:
        return None
    if isinstance(route, routing.Route):
        return match, (prefix + route.path, True)
    child_routes = getattr(route.app, "routes", None)
    if child_routes:
        inner = dict(scope)
        inner.update(child_scope)
        found = _matching_route_path(child_routes, inner, prefix if is_host else prefix + route.path)
        if found is not None:
            return match, found
    return (match, (prefix + route.path, False)) if isinstance(route, routing.Mount) else None


def _name_spans(scope: Any, instance: Any, datadog: Any) -> None:
    spans: List[Any] = datadog.get("request_spans", [])
    method = scope.get("method")
    effective = scope.get("fastapi", {}).get("effective_route_context")
    full_path = getattr(effective, "path_format", None) if effective is not None else None
    if full_path is not None:
        if spans:
            spans[0].resource = "%s %s" % (scope["method"], full_path)
            spans[0].set_tag(http.ROUTE, full_path)
        return
    paths = datadog.setdefault("resource_paths", [])
    paths.append(instance.path)
    if len(spans) == len(paths):
        # the outer span gets the whole template, each inner one a part less
        for index, span in enumerate(spans):
            path = "".join(paths[index:])
            span.resource = "%s %s" % (method, path) if method else path
            if index == 0:
                span.set_tag(http.ROUTE, path)
    elif spans:
        route = "".join(paths)
        spans[0].resource = "%s %s" % (method, route) if method else route
        spans[0].set_tag(http.ROUTE, route)


def traced_handler(wrapped: Callable, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``Route.handle`` / ``Mount.handle``: name the request spans by the
    route templates the request went through."""
    scope = args[0] if args else kwargs.get("scope")
    if scope and "datadog" in scope:
        try:  # (inline, not guard: this runs for every request)
            datadog = scope["datadog"]
            seen = datadog.setdefault("_dd_seen_routes", set())
            # FastAPI's APIRoute.handle calls Route.handle: name the spans once
            if id(instance) not in seen:
                seen.add(id(instance))
                _name_spans(scope, instance, datadog)
        except Exception:
            failed("starlette", sys.exc_info())
    return wrapped(*args, **kwargs)


# -- background tasks --------------------------------------------------------------
def trace_background_tasks(module: Any) -> Callable:
    """``BackgroundTasks.add_task`` wrapper: the task runs in a span of a
    new trace, ``<module>.background_task``, linked to the request's span."""
    def traced_add_task(wrapped: Callable, instance: Any, args: tuple, kwargs: dict) -> Any:
        if not tracer.enabled:
            return wrapped(*args, **kwargs)
        task = args[0] if args else kwargs.get("func")
        if task is None:
            return wrapped(*args, **kwargs)
        current = tracer.current_span()
        name = "%s.background_task" % getattr(module, "__name__", "<unknown>")
        resource = getattr(task, "__name__", "<unknown>")

        async def traced_task(*task_args: Any, **task_kwargs: Any) -> None:
            from starlette.concurrency import run_in_threadpool
            with tracer.start_span(name, resource=resource, child_of=None, activate=True) as span:
                if current is not None:
                    span.link_span(current.context)
                if inspect.iscoroutinefunction(task):
                    await task(*task_args, **task_kwargs)
                else:
                    await run_in_threadpool(task, *task_args, **task_kwargs)

        if args:
            args = (traced_task,) + tuple(args[1:])
        else:
            kwargs["func"] = traced_task
        return wrapped(*args, **kwargs)
    return traced_add_task


def patch() -> None:
    if getattr(starlette, "_datadog_patch", False):
        return
    starlette._datadog_patch = True
    trace_utils.wrap(starlette.applications, "Starlette.__init__", _traced_init)
    # FastAPI's patch may have wrapped these already
    if not trace_utils.iswrapped(starlette.routing.Route.handle):
        trace_utils.wrap(starlette.routing, "Route.handle", traced_handler)
    if not trace_utils.iswrapped(starlette.routing.Mount.handle):
        trace_utils.wrap(starlette.routing, "Mount.handle", traced_handler)
    if not trace_utils.iswrapped(starlette.background.BackgroundTasks.add_task):
        trace_utils.wrap(starlette.background, "BackgroundTasks.add_task", trace_background_tasks(starlette))


def unpatch() -> None:
    if not getattr(starlette, "_datadog_patch", False):
        return
    starlette._datadog_patch = False
    trace_utils.unwrap(starlette.applications.Starlette, "__init__")
    trace_utils.unwrap(starlette.routing.Route, "handle")
    trace_utils.unwrap(starlette.routing.Mount, "handle")
    trace_utils.unwrap(starlette.background.BackgroundTasks, "add_task")
