"""jinja2 tracing: ``Template.render``/``generate``, ``Environment.compile``
and ``Environment._load_template``, each a span of type ``template`` named
after the template (ddtrace's names and tags). The service is
``DD_JINJA2_SERVICE`` when set, else the parent span's."""
import os
import sys
from typing import Any, Callable

import jinja2

from ddtrace import config
from ddtrace._tracer import tracer
from ddtrace.contrib import _safety, trace_utils
from ddtrace.ext import SpanTypes

DEFAULT_TEMPLATE_NAME = "<memory>"

config._add("jinja2", {"service_name": os.environ.get("DD_JINJA2_SERVICE")})
#: config.jinja2, looked up once (Config.__getattr__ is a Python call)
_CONFIG = config.jinja2


def get_version() -> str:
    return getattr(jinja2, "__version__", "")


def _start(name: str, measured: bool) -> Any:
    service = _CONFIG.service_name
    span = tracer.trace(name, service=service, span_type=SpanTypes.TEMPLATE)
    try:
        if service:
            trace_utils.set_service_and_source(span, service, _CONFIG)
        else:
            trace_utils.inherit_service_source(span)
        if name != "jinja2.load":
            span.set_tag("component", "jinja2")
        if measured:
            span.set_metric("_dd.measured", 1)
    except BaseException:
        span.finish()
        raise
    return span


def _traced(name: str, template_name: Callable[[Any, Any, Any], str], measured: bool = False,
            tag_path: bool = False) -> Callable:
    def wrapper(wrapped, instance, args, kwargs):
        if not tracer.enabled:
            return wrapped(*args, **kwargs)
        try:  # (inline, not _safety.guard: a page renders many templates)
            span = _start(name, measured)
        except Exception:
            _safety.failed("jinja2", sys.exc_info())
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException:
            _finish(span, instance, args, kwargs, template_name, None, sys.exc_info())
            raise
        _finish(span, instance, args, kwargs, template_name, result if tag_path else None, None)
        return result
    return wrapper


def _finish(span: Any, instance: Any, args: Any, kwargs: Any, template_name: Callable,
            template: Any, exc_info: Any) -> None:
    try:
        resource = template_name(instance, args, kwargs)
        span.resource = resource
        span.set_tag("jinja2.template_name", resource)
        if template is not None and getattr(template, "filename", None):
            span.set_tag("jinja2.template_path", template.filename)
        if exc_info is not None:
            span.set_exc_info(*exc_info)
    except Exception:
        _safety.failed("jinja2", sys.exc_info())
    span.finish()


def _own_name(instance, args, kwargs) -> str:
    return str(instance.name or DEFAULT_TEMPLATE_NAME)


def _compile_name(instance, args, kwargs) -> str:
    name = kwargs.get("name", args[1] if len(args) > 1 else None)
    return str(name) if name is not None else DEFAULT_TEMPLATE_NAME


def _load_name(instance, args, kwargs) -> str:
    return str(kwargs.get("name", args[0] if args else DEFAULT_TEMPLATE_NAME))


def patch() -> None:
    render = _traced("jinja2.render", _own_name, measured=True)
    trace_utils.patch_attributes(jinja2, {
        "environment.Template.render": render,
        "environment.Template.generate": render,
        "environment.Environment.compile": _traced("jinja2.compile", _compile_name),
        "environment.Environment._load_template": _traced("jinja2.load", _load_name, tag_path=True),
    })


_PATHS = ("environment.Template.render", "environment.Template.generate",
          "environment.Environment.compile", "environment.Environment._load_template")


def unpatch() -> None:
    trace_utils.unpatch_attributes(jinja2, _PATHS)
