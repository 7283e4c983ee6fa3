"""Django tracing, hooked where ddtrace hooks it:

- ``BaseHandler.get_response``: the ``django.request`` span around the
  middleware chain, child of the incoming distributed context; its route
  tags and resource are set once the response exists (the URL is
  resolved by then), unresolvable URLs grouped as ``GET 404``;
- ``BaseHandler.load_middleware``: each middleware in ``MIDDLEWARE`` gets
  its hooks (``__call__``, ``process_request``, ``process_view``,
  ``process_response``, ...) traced as ``django.middleware``;
- ``django.urls.path``/``re_path`` and ``View.as_view``: views are traced
  as ``django.view`` when the URLconf is built (so patching must come
  before the URLconf is imported, as with ddtrace);
- ``Template.render``, when ``instrument_templates`` is on.

Tracing code runs under ``safety.guard``; views and middleware are
always called, their exceptions re-raised unchanged.
"""
import inspect
import os
import sys
from typing import Any, Callable, Optional

import wrapt
from wrapt.importer import when_imported

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import _code_origin, _safety, _web, trace_utils
from ddtrace.ext import SpanKind, SpanTypes

config._add("django", dict(
    _default_service="django",
    distributed_tracing_enabled=True,
    instrument_middleware=asbool(os.environ.get("DD_DJANGO_INSTRUMENT_MIDDLEWARE", True)),
    instrument_templates=asbool(os.environ.get("DD_DJANGO_INSTRUMENT_TEMPLATES", False)),
    use_handler_resource_format=asbool(os.environ.get("DD_DJANGO_USE_HANDLER_RESOURCE_FORMAT", False)),
    use_legacy_resource_format=asbool(os.environ.get("DD_DJANGO_USE_LEGACY_RESOURCE_FORMAT", False)),
    include_user_name=True,
    trace_query_string=None,
))

_DEFAULT_RESOURCE = "__django_request"
_MIDDLEWARE_HOOKS = ("process_request", "process_response", "process_view", "process_template_response",
                     "process_exception", "__call__")
_VIEW_LIFECYCLE = ("setup", "dispatch", "http_method_not_allowed")
_DEFAULT_METHODS = ("get", "delete", "post", "options", "head")


def get_version() -> str:
    import django
    return django.__version__


def func_name(f: Any) -> str:
    """ddtrace's readable name of a function, class or instance."""
    name = getattr(f, "__name__", type(f).__name__)
    module = getattr(f, "__module__", None)
    return "%s.%s" % (module, name) if module else name


def _traced(name: str, resource: str, ignored: tuple = (), origin: Any = None) -> Callable:
    """A wrapt wrapper: the call inside a span of the Django integration."""
    def wrapper(wrapped, instance, args, kwargs):
        if not tracer.enabled:
            return wrapped(*args, **kwargs)
        return _web.traced_call(config.django, wrapped, args, kwargs, name, resource=resource,
                                ignored=ignored, origin=origin)
    return wrapper


# -- the request ------------------------------------------------------------------------
def _request_headers(meta: Any) -> dict:
    headers = {}
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    return headers


def _request_url(request: Any) -> Optional[str]:
    try:
        host = request._get_raw_host()
    except Exception:
        host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "unknown")
    return "%s://%s%s" % (request.scheme, host, request.path)


def _start_request(request: Any) -> Any:
    headers = _request_headers(request.META)
    trace_utils.activate_distributed_headers(tracer, int_config=config.django, request_headers=headers)
    span = _web.start_span("django.request", config.django, span_type=SpanTypes.WEB, resource=_DEFAULT_RESOURCE)
    with _web.finished_on_failure(span):
        span.set_tag("span.kind", SpanKind.SERVER)
        span.set_metric("_dd.measured", 1)
        span.set_tag("django.request.class", func_name(type(request)))
    return span, headers


def _set_resolver_tags(span: Any, request: Any) -> None:
    from django.urls import Resolver404, get_resolver
    resource = request.method
    try:
        match = request.resolver_match or get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
        handler = func_name(getattr(match.func, "view_class", match.func))
        route = match.route
        if route:
            span.set_tag("http.route", route)
        if config.django.get("use_handler_resource_format"):
            resource = "%s %s" % (request.method, handler)
        elif config.django.get("use_legacy_resource_format"):
            resource = handler
        else:
            resource = "%s %s" % (request.method, route or handler)
        span.set_tag("django.view", match.view_name)
        for prefix, values in (("django.namespace", match.namespaces), ("django.app", match.app_names)):
            _set_tag_array(span, prefix, values)
    except Resolver404:
        resource = "%s 404" % request.method
    finally:
        if span.resource == _DEFAULT_RESOURCE:
            span.resource = resource


def _set_tag_array(span: Any, prefix: str, values: Any) -> None:
    if not values:
        return
    if len(values) == 1:
        if values[0]:
            span.set_tag(prefix, values[0])
        return
    for i, value in enumerate(values):
        if value:
            span.set_tag("%s.%d" % (prefix, i), value)


def _set_user_tags(span: Any, request: Any) -> None:
    user = getattr(request, "user", None)
    if user is None:
        return
    if hasattr(user, "is_authenticated"):
        span.set_tag("django.user.is_authenticated", str(bool(user.is_authenticated)))
    uid = getattr(user, "pk", None)
    if uid and isinstance(uid, int):
        span.set_tag("django.user.id", str(uid))
        span.set_tag("usr.id", str(uid))
    if config.django.get("include_user_name") and getattr(user, "username", None):
        span.set_tag("django.user.name", user.username)


def _finish_request(span: Any, request: Any, headers: dict, response: Any) -> None:
    _set_user_tags(span, request)
    _set_resolver_tags(span, request)
    status = None
    response_headers = None
    if response is not None:
        status = response.status_code
        span.set_tag("django.response.class", func_name(type(response)))
        template = getattr(response, "template_name", None)
        if template is not None:
            names = [template] if isinstance(template, str) else (
                list(template) if isinstance(template, (list, tuple)) else None)
            _set_tag_array(span, "django.response.template", names)
        response_headers = dict(response.items())
    trace_utils.set_http_meta(span, config.django, method=request.method, url=_request_url(request),
                              status_code=status, query=request.META.get("QUERY_STRING"),
                              request_headers=headers, response_headers=response_headers,
                              route=span.get_tag("http.route"))
    if span.resource == _DEFAULT_RESOURCE:
        span.resource = request.method


def _traced_get_response(wrapped, instance, args, kwargs):
    request = args[0] if args else kwargs.get("request")
    if request is None or not tracer.enabled:
        return wrapped(*args, **kwargs)
    span = headers = None
    with _safety.guard("django"):
        span, headers = _start_request(request)
    if span is None:
        return wrapped(*args, **kwargs)
    response = None
    try:
        response = wrapped(*args, **kwargs)
        return response
    except BaseException:
        span.set_exc_info(*sys.exc_info())
        raise
    finally:
        with _safety.guard("django"):
            _finish_request(span, request, headers, response)
        span.finish()


# -- middleware ----------------------------------------------------------------------------
def _middleware_hook(hook: str) -> Callable:
    def wrapper(wrapped, instance, args, kwargs):
        return _traced("django.middleware", "%s.%s" % (func_name(instance), hook))(wrapped, instance, args, kwargs)
    return wrapper


def _wrap_middleware_class(middleware: type) -> None:
    for hook in _MIDDLEWARE_HOOKS:
        method = getattr(middleware, hook, None)
        if method is None or not inspect.isfunction(method) or trace_utils.iswrapped(method):
            continue
        trace_utils.wrap(middleware, hook, _middleware_hook(hook))


def _wrap_middleware_factory(factory: Callable) -> Callable:
    resource = "%s.%s" % (getattr(factory, "__module__", ""), getattr(factory, "__qualname__", func_name(factory)))

    def make(wrapped, instance, args, kwargs):
        middleware = wrapped(*args, **kwargs)
        if not inspect.isfunction(middleware) or inspect.iscoroutinefunction(middleware):
            return middleware
        return wrapt.FunctionWrapper(middleware, _traced("django.middleware", resource))
    return wrapt.FunctionWrapper(factory, make)


def _traced_load_middleware(wrapped, instance, args, kwargs):
    if config.django.get("instrument_middleware"):
        with _safety.guard("django"):
            from django.conf import settings
            from django.utils.module_loading import import_string
            for path in list(getattr(settings, "MIDDLEWARE", None) or ()):
                middleware = import_string(path)
                if isinstance(middleware, type):
                    _wrap_middleware_class(middleware)
                elif inspect.isfunction(middleware):
                    module_name, _, attr = path.rpartition(".")
                    setattr(sys.modules[module_name], attr, _wrap_middleware_factory(middleware))
    return wrapped(*args, **kwargs)


# -- views ---------------------------------------------------------------------------------
def _instrument_view_class(view: type) -> None:
    """``django.view.<method>`` spans for a class-based view's handlers and
    lifecycle methods, along its MRO (a base class method is named after
    the base, as ddtrace names it)."""
    for cls in reversed(inspect.getmro(view)):
        names = list(getattr(cls, "http_method_names", ()) or _DEFAULT_METHODS) + list(_VIEW_LIFECYCLE)
        for name in names:
            method = cls.__dict__.get(name) if cls is not object else None
            if method is None or trace_utils.iswrapped(method) or not inspect.isfunction(method):
                continue
            trace_utils.wrap(cls, name, _traced("django.view." + name, "%s.%s" % (func_name(cls), name)))


def _instrument_view(view: Any) -> Any:
    if not callable(view) or getattr(view, "_self_ctrace_view", False):
        return view  # an include(), or a view as_view() traced already
    origin = _code_origin.location(view)
    from django.http import Http404
    proxy = wrapt.FunctionWrapper(view, _traced("django.view", func_name(view), ignored=(Http404,),
                                                origin=origin))
    proxy._self_ctrace_view = True
    return proxy


def _traced_path(wrapped, instance, args, kwargs):
    with _safety.guard("django"):
        if "view" in kwargs:
            kwargs["view"] = _instrument_view(kwargs["view"])
        elif len(args) > 1:
            args = (args[0], _instrument_view(args[1])) + tuple(args[2:])
    return wrapped(*args, **kwargs)


def _traced_as_view(wrapped, instance, args, kwargs):
    view = wrapped(*args, **kwargs)
    with _safety.guard("django"):
        _instrument_view_class(instance)
        origin = _code_origin.location(view)
        proxy = wrapt.FunctionWrapper(view, _traced("django.view", func_name(instance), origin=origin))
        proxy._self_ctrace_view = True
        return proxy
    return view


# -- templates -----------------------------------------------------------------------------
def _traced_template_render(wrapped, instance, args, kwargs):
    if not tracer.enabled or not config.django.get("instrument_templates"):
        return wrapped(*args, **kwargs)
    span = None
    with _safety.guard("django"):
        name = getattr(instance, "name", None)
        name = str(name) if name is not None else None
        span = tracer.trace("django.template.render", span_type=SpanTypes.TEMPLATE,
                            resource=name or "%s.render" % func_name(type(instance)))
        with _web.finished_on_failure(span):
            trace_utils.inherit_service_source(span)
            span.set_tag("component", "django")
            if name:
                span.set_tag("django.template.name", name)
            engine = getattr(instance, "engine", None)
            if engine is not None:
                span.set_tag("django.template.engine.class", func_name(type(engine)))
    if span is None:
        return wrapped(*args, **kwargs)
    with span:
        return wrapped(*args, **kwargs)


# -- patching -------------------------------------------------------------------------------
_WRAPS = (
    ("django.core.handlers.base", "BaseHandler.get_response", _traced_get_response),
    ("django.core.handlers.base", "BaseHandler.load_middleware", _traced_load_middleware),
    ("django.urls", "path", _traced_path),
    ("django.urls", "re_path", _traced_path),
    ("django.views.generic.base", "View.as_view", _traced_as_view),
    ("django.template.base", "Template.render", _traced_template_render),
)


def _hook(attribute: str, wrapper: Callable) -> Callable:
    def install(module):
        import django
        if getattr(django, "_datadog_patch", False) and not trace_utils.iswrapped(
                _dotted_getattr(module, attribute)):
            trace_utils.wrap(module, attribute, wrapper)
    return install


def _dotted_getattr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def patch() -> None:
    import django
    if getattr(django, "_datadog_patch", False):
        return
    django._datadog_patch = True
    for module, attribute, wrapper in _WRAPS:
        when_imported(module)(_hook(attribute, wrapper))


def unpatch() -> None:
    import django
    if not getattr(django, "_datadog_patch", False):
        return
    django._datadog_patch = False
    for module_name, attribute, _ in _WRAPS:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        owner_path, _, name = attribute.rpartition(".")
        owner = _dotted_getattr(module, owner_path) if owner_path else module
        trace_utils.unwrap(owner, name)
