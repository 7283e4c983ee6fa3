"""Flask tracing, built on the WSGI middleware (``contrib/wsgi/wsgi.py``).

``Flask.wsgi_app`` runs inside a ``_FlaskWSGIMiddleware`` made per
request, which opens ``flask.request`` and ``flask.application``. The
request's Flask tags (endpoint, URL rule, view arguments) are known once
Werkzeug has matched the URL: they are set when Flask's own steps start
(``preprocess_request``, ``dispatch_request``) and again when the app
calls ``start_response``, where an unmatched URL gets the resource
``GET 404`` (ddtrace's rule, to group unknown URLs). Views, hooks and
error handlers are wrapped when they are registered, so only apps
created after patching are traced in full (as with ddtrace).
"""
import re
import sys
from typing import Any, Callable, Optional

import flask
import wrapt
from werkzeug.exceptions import NotFound
from werkzeug.wsgi import get_current_url

from ddtrace import _ctrace, config
from ddtrace._tracer import tracer
from ddtrace.contrib import _code_origin, _safety, _web, trace_utils
from ddtrace.contrib.wsgi.wsgi import _DDWSGIMiddlewareBase, response_headers_to_tag
from ddtrace.ext import SpanTypes

config._add("flask", dict(
    _default_service="flask",
    collect_view_args=True,
    distributed_tracing_enabled=True,
    template_default_name="<memory>",
    trace_signals=True,
))

#: config.flask, looked up once (Config.__getattr__ is a Python call);
#: settings the user changes later land in this same object
_CONFIG = config.flask
_ENVIRON_KEY = "ddtrace.flask.spans"
_HOOKS = ("before_request", "after_request", "teardown_request", "teardown_appcontext")
_BLUEPRINT_HOOKS = ("after_app_request", "after_request", "before_app_request", "before_request",
                    "teardown_request", "teardown_app_request")
_TRACED_METHODS = ("process_response", "handle_exception", "handle_http_exception",
                   "handle_user_exception", "do_teardown_request", "do_teardown_appcontext",
                   "send_static_file")
_SIGNALS = ("template_rendered", "request_started", "request_finished", "request_tearing_down",
            "got_request_exception", "appcontext_tearing_down", "before_render_template",
            "appcontext_pushed", "appcontext_popped", "message_flashed")


def get_version() -> str:
    from importlib.metadata import version
    try:
        return version("flask")
    except Exception:
        return ""


def func_name(f: Any) -> str:
    """ddtrace's readable name of a function: ``module.name``."""
    name = getattr(f, "__name__", type(f).__name__)
    module = getattr(f, "__module__", None)
    return "%s.%s" % (module, name) if module else name


# -- spans of Flask's steps -----------------------------------------------------------------
def _traced_function(func: Callable, name: Optional[str] = None, resource: Optional[str] = None,
                     signal: Optional[str] = None, is_view: bool = False) -> Callable:
    """``func`` (a view, hook, error handler) tracing each call; a view
    also names its code on the request (``_code_origin``)."""
    if func is None or isinstance(func, wrapt.FunctionWrapper):
        return func
    origin = _code_origin.location(func) if is_view else None
    tags = {"flask.signal": signal} if signal else None
    return trace_utils.FunctionWrapper(func, _web.traced_wrapper(_CONFIG, name or func_name(func), resource,
                                                           tags=tags, origin=origin))


def _simple_wrapper(name: str, ignored: tuple = ()) -> Callable:
    return _web.traced_wrapper(_CONFIG, name, ignored=ignored)


# -- the request's Flask tags ---------------------------------------------------------------
def _set_route_tags(request: Any, span: Any) -> None:
    """Resource, endpoint and URL rule of the matched route, once."""
    if span.get_tag("flask.url_rule"):
        return
    method, endpoint, url_rule = request.method, request.endpoint, request.url_rule
    if endpoint and not span.get_tag("flask.endpoint"):
        span.resource = "%s %s" % (method, endpoint)
        span.set_tag("flask.endpoint", endpoint)
    rule = url_rule.rule if url_rule is not None else None
    if rule:
        span.resource = "%s %s" % (method, rule)
        span.set_tag("flask.url_rule", rule)


def _set_request_tags(request: Any, span: Any) -> None:
    _set_route_tags(request, span)
    view_args = request.view_args
    if view_args and _CONFIG.get("collect_view_args"):
        for key, value in view_args.items():
            span.set_tag("flask.view_args." + key, value)


def _request_step_wrapper(step: str) -> Callable:
    """``preprocess_request`` / ``dispatch_request``: the URL is matched by
    now, so the application and request spans get their Flask tags (at
    the first step; the environ entry is then dropped)."""
    traced = _simple_wrapper("flask." + step, (NotFound,))

    def wrapper(wrapped, instance, args, kwargs):
        if not tracer.enabled:
            return wrapped(*args, **kwargs)
        try:  # (inline, not _safety.guard: this runs for every request)
            request = _REQUEST_CONTEXT.get().request
            spans = request.environ.pop(_ENVIRON_KEY, None)
            if spans is not None:
                request_span, app_span = spans
                _set_request_tags(request, app_span)
                _set_route_tags(request, request_span)
        except Exception:
            _safety.failed("flask", sys.exc_info())
        return traced(wrapped, instance, args, kwargs)
    return wrapper


class _FlaskWSGIMiddleware(_DDWSGIMiddlewareBase):
    _request_span_name = "flask.request"
    _application_span_name = "flask.application"
    _response_span_name = "flask.response"
    _reads_headers_as_sent = False

    def __init__(self, application: Callable) -> None:
        # (the base's fields set here, not through super(): one per request)
        self.app = application
        self._config = _CONFIG
        self.app_is_iterator = False

    def _request_started(self, environ, request_span, app_span):
        request_span.resource = "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        request_span.set_metric("_dd.measured", 1)
        request_span.set_tag("flask.version", _FLASK_VERSION)
        environ[_ENVIRON_KEY] = (request_span, app_span)

    def _set_request_http_meta(self, request_span, environ, headers, lowered):
        query = environ.get("QUERY_STRING") or ""
        url = _base_url(environ)
        trace_utils.set_http_meta(
            request_span, self._config, method=environ.get("REQUEST_METHOD"),
            url=url + ("?" + query if query else ""), query=query,
            request_headers=lowered)

    def _on_start_response(self, request_span, status, headers):
        code = str(status).partition(" ")[0]
        route = None
        context = _REQUEST_CONTEXT.get(None)
        if context is not None:
            request = context.request
            _set_request_tags(request, request_span)
            if not request_span.get_tag("flask.endpoint") and not request_span.get_tag("flask.url_rule"):
                request_span.resource = "%s %s" % (request.method, code)
            route = request_span.get_tag("flask.url_rule")
        trace_utils.set_http_meta(request_span, self._config, status_code=code, route=route,
                                  response_headers=response_headers_to_tag(self._config, headers))


_FLASK_VERSION = get_version()


class _LegacyRequestContext:
    """Flask < 2.2's request context stack, read as 2.2's ContextVar."""

    @staticmethod
    def get(*default: Any) -> Any:
        top = getattr(flask, "_request_ctx_stack").top
        if top is None:
            if default:
                return default[0]
            raise LookupError("no request context")
        return top


#: the current request's context (a ContextVar read costs no frame, where
#: flask.request and has_request_context() cost one each)
_REQUEST_CONTEXT = getattr(flask.globals, "_cv_request", None) or _LegacyRequestContext()
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~-]*")


def _base_url(environ: Any) -> str:
    """werkzeug's ``request.base_url``, as ddtrace tags it. werkzeug makes
    it an IRI (escapes of UTF-8 decoded, default ports dropped), which
    costs more than the rest of the request's tracing: a plain path under
    a Host without a port to drop is joined directly, anything else goes
    through werkzeug."""
    host = environ.get("HTTP_HOST") or ""
    path = (environ.get("SCRIPT_NAME") or "") + (environ.get("PATH_INFO") or "")
    if host and host == host.lower() and not host.endswith((":80", ":443")) and _PLAIN_PATH.fullmatch(path):
        return "%s://%s%s" % (environ.get("wsgi.url_scheme", "http"), host, path or "/")
    return get_current_url(environ, strip_querystring=True)


# -- the patched Flask methods --------------------------------------------------------------
def _patched_wsgi_app(wrapped, instance, args, kwargs):
    if not tracer.enabled:
        return wrapped(*args, **kwargs)
    environ, start_response = args[0], args[1]
    return _FlaskWSGIMiddleware(wrapped)(environ, start_response)


def _patched_add_url_rule(wrapped, instance, args, kwargs):
    def bind(rule, endpoint=None, view_func=None, **options):
        if view_func is not None:
            with _safety.guard("flask"):
                view_func = _traced_function(view_func, name=endpoint, resource=rule, is_view=True)
        return wrapped(rule, endpoint, view_func, **options)
    return bind(*args, **kwargs)


def _patched_endpoint(wrapped, instance, args, kwargs):
    endpoint = kwargs.get("endpoint", args[0] if args else None)

    def decorator(func):
        return wrapped(endpoint)(_traced_function(func, resource=endpoint, is_view=True))
    return decorator


def _patched_hook(wrapped, instance, args, kwargs):
    func = kwargs.pop("f", None) if "f" in kwargs else (args[0] if args else None)
    rest = args[1:] if args else ()
    return wrapped(_traced_function(func), *rest, **kwargs)


def _patched_register_error_handler(wrapped, instance, args, kwargs):
    def bind(code_or_exception, f):
        return wrapped(code_or_exception, _traced_function(f))
    return bind(*args, **kwargs)


def _render_template_wrapper(name: str) -> Callable:
    span_name = "flask." + name

    def wrapper(wrapped, instance, args, kwargs):
        if not tracer.enabled:
            return wrapped(*args, **kwargs)
        span = None
        with _safety.guard("flask"):
            span = tracer.trace(span_name, span_type=SpanTypes.TEMPLATE)
            with _web.finished_on_failure(span):
                trace_utils.set_service_and_source(span, None, config.flask)
                span.set_tag("component", "flask")
        if span is None:
            return wrapped(*args, **kwargs)
        with span:
            return wrapped(*args, **kwargs)
    return wrapper


def _patched_render(wrapped, instance, args, kwargs):
    """``flask.templating._render(app, template, context)``: the template's
    name on the render_template span."""
    with _safety.guard("flask"):
        template = kwargs.get("template", args[1] if len(args) > 1 else None)
        span = tracer.current_span()
        name = getattr(template, "name", None) or config.flask.get("template_default_name")
        if span is not None and span.name.startswith("flask.render_template") and name is not None:
            span.resource = str(name)
            span.set_tag("flask.template_name", str(name))
    return wrapped(*args, **kwargs)


def _patched_receivers_for(signal: str) -> Callable:
    """Each receiver of the signal traced, lazily, by a C wrapper: a
    signal sent with no receiver (the common case) costs no frame."""
    def traced_receiver(receiver):
        return _traced_function(receiver, signal=signal)
    return _ctrace.MappedResult(traced_receiver)


def patch() -> None:
    if getattr(flask, "_datadog_patch", False):
        return
    flask._datadog_patch = True
    wrap = trace_utils.wrap
    wrap("flask", "Flask.wsgi_app", _patched_wsgi_app)
    wrap("flask", "Flask.dispatch_request", _request_step_wrapper("dispatch_request"))
    wrap("flask", "Flask.preprocess_request", _request_step_wrapper("preprocess_request"))
    wrap("flask", "Flask.add_url_rule", _patched_add_url_rule)
    wrap("flask", "Flask.endpoint", _patched_endpoint)
    wrap("flask", "Flask.register_error_handler", _patched_register_error_handler)
    for hook in _HOOKS:
        wrap("flask", "Flask." + hook, _patched_hook)
    for hook in _BLUEPRINT_HOOKS:
        wrap("flask", "Blueprint." + hook, _patched_hook)
    wrap("flask", "after_this_request", _patched_hook)
    for method in _TRACED_METHODS:
        wrap("flask", "Flask." + method, _simple_wrapper("flask." + method))
    wrap("flask", "send_file", _simple_wrapper("flask.send_file"))
    wrap("flask", "jsonify", _simple_wrapper("flask.jsonify"))
    wrap("flask.templating", "_render", _patched_render)
    wrap("flask", "render_template", _render_template_wrapper("render_template"))
    wrap("flask", "render_template_string", _render_template_wrapper("render_template_string"))
    if config.flask.get("trace_signals"):
        for signal in _SIGNALS:
            if hasattr(flask, signal):
                wrap("flask", signal + ".receivers_for", _patched_receivers_for(signal))


def unpatch() -> None:
    if not getattr(flask, "_datadog_patch", False):
        return
    flask._datadog_patch = False
    for name in ("wsgi_app", "dispatch_request", "preprocess_request", "add_url_rule", "endpoint",
                 "register_error_handler") + _HOOKS + _TRACED_METHODS:
        trace_utils.unwrap(flask.Flask, name)
    for hook in _BLUEPRINT_HOOKS:
        trace_utils.unwrap(flask.Blueprint, hook)
    for name in ("after_this_request", "send_file", "jsonify", "render_template", "render_template_string"):
        trace_utils.unwrap(flask, name)
    trace_utils.unwrap(flask.templating, "_render")
    for signal in _SIGNALS:
        if hasattr(flask, signal):
            trace_utils.unwrap(getattr(flask, signal), "receivers_for")
