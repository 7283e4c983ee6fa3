"""The spans web framework integrations (WSGI, Flask, Django) make,
written once:

- ``start_span``: a span of the integration, with the service it
  resolves to (given at creation: the core tags ``version`` only on the
  application's own service), ``_dd.svc_src`` and ``component``;
- ``traced_call``: the user's function (a view, a hook, a middleware)
  inside such a span; its exception is recorded, unless of a type the
  framework uses for control flow (``NotFound``, ``Http404``), and
  re-raised unchanged. The span's own setup runs under ``safety.guard``;
- ``traced_wrapper``: the same as a wrapt wrapper in C
  (``_ctrace.TracedCall``), for spans whose name, resource and tags are
  fixed when the function is patched: no Python frame per call.
"""
import sys
from typing import Any, Callable, Dict, Optional, Tuple

from ddtrace import _ctrace, config
from ddtrace._tracer import tracer
from ddtrace.contrib import _code_origin, _safety, trace_utils


#: (integration config, the settings its service depends on) ->
#: (service it resolves to, the service its spans get after
#: DD_SERVICE_MAPPING, the tags every span of it starts with: ``component``
#: and ``_dd.svc_src``): resolving them costs more than the span itself, and
#: a request makes a dozen spans of one integration. Bounded: cleared when a
#: program keeps changing services.
_resolved: Dict[tuple, Tuple[Optional[str], Optional[str], Dict[str, str]]] = {}


def _resolve(key: tuple, int_config: Any) -> Tuple[Optional[str], Optional[str], Dict[str, str]]:
    service = trace_utils.int_service(None, int_config)
    mapped, source = trace_utils.service_and_source(service, int_config)
    tags = {"component": int_config.integration_name}
    if source:
        tags["_dd.svc_src"] = source
    if len(_resolved) > 64:
        _resolved.clear()
    known = _resolved[key] = (service, mapped, tags)
    return known


def resolved_service(int_config: Any) -> Tuple[Optional[str], Optional[str], Dict[str, str]]:
    """``(int_service, the service after DD_SERVICE_MAPPING, first tags)``
    of the integration under the current settings; the dict is shared:
    pass it to ``set_tags``, never change it."""
    # The key, built inline here, in start_span and in traced_call (a frame
    # fewer on every span: keep the three alike; TracedCall in C compares
    # the same settings by identity)
    mapping = config.service_mapping
    key = (id(int_config), int_config.get("service"), int_config.get("service_name"),
           config._user_service, id(mapping), len(mapping))
    known = _resolved.get(key)
    return known if known is not None else _resolve(key, int_config)


def start_span(name: str, int_config: Any, span_type: Optional[str] = None,
               resource: Optional[str] = None, child_of: Any = None) -> Any:
    """An active span of the integration, child of the active span or of
    ``child_of``."""
    mapping = config.service_mapping  # (the key as resolved_service builds it)
    key = (id(int_config), int_config.get("service"), int_config.get("service_name"),
           config._user_service, id(mapping), len(mapping))
    known = _resolved.get(key)
    if known is None:
        known = _resolve(key, int_config)
    if child_of is not None:
        span = tracer.start_span(name, child_of=child_of, activate=True, span_type=span_type, service=known[1])
    else:
        span = tracer.trace(name, span_type=span_type, service=known[1])
    try:  # (inline, not finished_on_failure: this runs for every span)
        if resource is not None:
            span.resource = resource
        span.set_tags(known[2])
    except BaseException:
        span.finish()
        raise
    return span


class finished_on_failure:
    """``with finished_on_failure(*spans):`` finishes ``spans`` (last
    first) if the block raises, then lets the exception go on: a span left
    open by a failure halfway through its setup would stay active and
    adopt the next request on the thread."""

    __slots__ = ("spans",)

    def __init__(self, *spans: Any) -> None:
        self.spans = spans

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            for span in reversed(self.spans):
                span.finish()
        return False


def traced_call(int_config: Any, wrapped: Callable, args: Any, kwargs: Any, name: str,
                resource: Optional[str] = None, ignored: tuple = (),
                origin: Optional[_code_origin.Location] = None,
                tags: Optional[Dict[str, str]] = None) -> Any:
    """``wrapped(*args, **kwargs)`` inside a ``name`` span; ``origin``
    names the code of an entry point (a view) on it and on the root."""
    span = None
    try:  # (inline, not _safety.guard, nor start_span: a frame per span)
        mapping = config.service_mapping
        known = _resolved.get((id(int_config), int_config.get("service"), int_config.get("service_name"),
                               config._user_service, id(mapping), len(mapping)))
        if known is None:
            known = resolved_service(int_config)
        span = tracer.trace(name, service=known[1])
        try:
            if resource is not None:
                span.resource = resource
            span.set_tags(known[2])
        except BaseException:  # (as start_span: a span half set up is not left active)
            span.finish()
            span = None
            raise
        if tags:
            span.set_tags(tags)
        if origin is not None:
            _code_origin.tag(span, tracer.current_root_span(), origin)
    except Exception:
        _safety.failed(int_config.integration_name, sys.exc_info())
    if span is None:
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        if not isinstance(exc, ignored):
            span.set_exc_info(*sys.exc_info())
        raise
    finally:
        span.finish()


def traced_wrapper(int_config: Any, name: str, resource: Optional[str] = None,
                   span_type: Optional[str] = None, tags: Optional[Dict[str, str]] = None,
                   origin: Optional[_code_origin.Location] = None, ignored: tuple = ()) -> Any:
    """A wrapt wrapper ``(wrapped, instance, args, kwargs)`` doing what
    ``traced_call`` does, in C: the service follows ``int_config`` through
    ``resolved_service``, and a failure of the tracing goes to
    ``_safety.failed``. Only for ``int_config``s registered with
    ``config._add`` (the object must stay the one the integration reads)."""
    return _ctrace.TracedCall(tracer, int_config, resolved_service, _safety.failed, name,
                              resource=resource, span_type=span_type, tags=tags, origin=origin,
                              ignored=ignored)
