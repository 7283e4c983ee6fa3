"""Celery as ddtrace 4.16 traces it, through Celery's signals.

Producer: ``before_task_publish`` starts ``celery.apply`` (resource the task
name, ``celery.action: apply_async``, the message's routing tags) and, with
distributed tracing, injects the span's context into the message headers;
``after_task_publish`` adds the broker's host and port and finishes it. A
wrapper around ``Task.apply_async`` finishes the span even when publishing
fails before that signal, recording the exception.

Worker: ``task_prerun`` activates the context found in the message headers
(distributed tracing) and starts ``celery.run``; ``task_retry`` tags
``celery.retry.reason``; ``task_failure`` records the exception (not one the
task declares in ``throws``); ``task_postrun`` adds the request's tags and
``celery.state`` and finishes it. Spans travel between signals in a weak
dictionary on the task, keyed by (task id, publishing), so a task that
queues its own retry does not overwrite its running span.

Every handler runs inside the integration-failure guard: a bug here never
reaches Celery or the task.
"""
import contextvars
import os
import sys
from typing import Any, Dict, Optional
from urllib.parse import urlparse
from weakref import WeakValueDictionary

import celery
import celery.app.task
import celery.beat
from celery import signals

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._pin import Pin
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import MEASURED_KEY, _tracer
from ddtrace.contrib.trace_utils import (activate_distributed_headers, ext_service, set_flattened_tags,
                                        set_service_and_source, unwrap, wrap)
from ddtrace.ext import SpanKind, SpanTypes, net

config._add("celery", {
    "distributed_tracing": asbool(os.environ.get("DD_CELERY_DISTRIBUTED_TRACING", "false")),
    "producer_service_name": os.environ.get("DD_CELERY_PRODUCER_SERVICE", config._get_service("celery-producer")),
    "worker_service_name": os.environ.get("DD_CELERY_WORKER_SERVICE", config._get_service("celery-worker")),
    "_default_service_producer": config._get_service("celery-producer"),
    "_default_service_worker": config._get_service("celery-worker"),
})

PRODUCER_SPAN, WORKER_SPAN = "celery.apply", "celery.run"
_SPANS_ATTRIBUTE = "__dd_task_span"
_CONTEXTS_ATTRIBUTE = "__dd_task_context"
# message and request fields ddtrace tags, and their tag names
_TAG_OF_FIELD = (("compression", "celery.compression"), ("correlation_id", "celery.correlation_id"),
                 ("countdown", "celery.countdown"), ("delivery_info", "celery.delivery_info"),
                 ("eta", "celery.eta"), ("exchange", "celery.exchange"), ("expires", "celery.expires"),
                 ("hostname", "celery.hostname"), ("id", "celery.id"), ("priority", "celery.priority"),
                 ("queue", "celery.queue"), ("reply_to", "celery.reply_to"), ("retries", "celery.retries"),
                 ("routing_key", "celery.routing_key"), ("serializer", "celery.serializer"),
                 ("timelimit", "celery.timelimit"), ("origin", "celery.hostname"), ("state", "celery.state"))

# the producer span of the apply_async call in progress, for its wrapper
_publishing: contextvars.ContextVar = contextvars.ContextVar("ctrace_celery_publishing", default=None)


def get_version() -> str:
    return str(celery.__version__)


# -- spans carried from one signal to the next ----------------------------------------
def _attach(task: Any, task_id: str, span: Any, publishing: bool = False) -> None:
    spans = getattr(task, _SPANS_ATTRIBUTE, None)
    if spans is None:
        spans = WeakValueDictionary()
        setattr(task, _SPANS_ATTRIBUTE, spans)
    spans[(task_id, publishing)] = span


def _retrieve(task: Any, task_id: str, publishing: bool = False) -> Optional[Any]:
    spans = getattr(task, _SPANS_ATTRIBUTE, None)
    return spans.get((task_id, publishing)) if spans is not None else None


def _detach(task: Any, task_id: str, publishing: bool = False) -> None:
    spans = getattr(task, _SPANS_ATTRIBUTE, None)
    if spans is not None:
        spans.pop((task_id, publishing), None)


def _headers_of(context: Any) -> Dict[str, str]:
    from ddtrace.propagation.http import HTTPPropagator
    headers: Dict[str, str] = {}
    HTTPPropagator.inject(context, headers)
    return headers


def _remember_context(task: Any, task_id: str, span: Any) -> None:
    # for a task run eagerly (apply()), whose request carries no headers
    contexts = getattr(task, _CONTEXTS_ATTRIBUTE, None)
    if contexts is None:
        contexts = {}
        setattr(task, _CONTEXTS_ATTRIBUTE, contexts)
    contexts[(task_id, False)] = _headers_of(span.context)


def _remembered_context(task: Any, task_id: str, publishing: bool = False) -> Optional[Dict[str, str]]:
    contexts = getattr(task, _CONTEXTS_ATTRIBUTE, None)
    return contexts.get((task_id, publishing)) if contexts else None


def _skip(field: str, value: Any) -> bool:
    return (value is None or value == "" or (field == "timelimit" and all(v is None for v in value))
            or (field == "retries" and value == 0))


def _tag_from(span: Any, fields: Any) -> None:
    set_flattened_tags(span, [(tag, fields.get(field)) for field, tag in _TAG_OF_FIELD
                              if not _skip(field, fields.get(field))])


def _task_id(message: Dict[str, Any]) -> Optional[str]:
    # protocol 2 has it in the headers, protocol 1 in the body
    headers, body = message.get("headers"), message.get("body")
    if headers and "id" in headers:
        return headers.get("id")
    if body and "id" in body:
        return body.get("id")
    return None


def _start(name: str, resource: str, service: str, default_key: str, tags: Dict[str, Any],
           span_type: Optional[str] = None) -> Any:
    cfg = config.celery
    span = _tracer().trace(name, resource=resource, span_type=span_type)
    set_service_and_source(span, service, cfg, default_service_key=default_key)
    span.set_tags(tags)
    return span


# -- worker --------------------------------------------------------------------------
def trace_prerun(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task, task_id = kwargs.get("sender"), kwargs.get("task_id")
        if task is None or task_id is None or (Pin.get_from(task) or Pin.get_from(task.app)) is None:
            return
        headers = task.request.get("headers", {}) or _remembered_context(task, task_id)
        activate_distributed_headers(_tracer(), int_config=config.celery, request_headers=headers)
        span = _start(WORKER_SPAN, task.name, config.celery["worker_service_name"], "_default_service_worker",
                      {"span.kind": SpanKind.CONSUMER, "component": "celery", MEASURED_KEY: 1},
                      SpanTypes.WORKER)
        _attach(task, task_id, span)
        if config.celery["distributed_tracing"]:
            _remember_context(task, task_id, span)


def trace_postrun(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task, task_id = kwargs.get("sender"), kwargs.get("task_id")
        span = _retrieve(task, task_id) if task is not None and task_id is not None else None
        if span is None:
            return
        span.set_tag("celery.action", "run")
        _tag_from(span, kwargs)
        _tag_from(span, task.request.__dict__)
        span.finish()
        _detach(task, task_id)


def trace_failure(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task, task_id, einfo = kwargs.get("sender"), kwargs.get("task_id"), kwargs.get("einfo")
        span = _retrieve(task, task_id) if task is not None and task_id is not None else None
        if span is None or einfo is None:
            return
        exception = getattr(einfo.exception, "exc", einfo.exception)
        if hasattr(task, "throws") and isinstance(exception, task.throws):
            return      # an exception the task declares is an outcome, not an error
        span.set_exc_info(einfo.type, exception, einfo.tb)


def trace_retry(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task, request, reason = kwargs.get("sender"), kwargs.get("request"), kwargs.get("reason")
        span = _retrieve(task, request.id) if task is not None and request is not None and reason else None
        if span is not None:
            span.set_tag("celery.retry.reason", str(reason))


# -- producer ------------------------------------------------------------------------
def trace_before_publish(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task_name = kwargs.get("sender")
        task, task_id = celery.current_app.tasks.get(task_name), _task_id(kwargs)
        if task is None or task_id is None:
            active = _tracer().current_trace_context()
            if active is not None:
                _inject(active, kwargs)
            return
        if config.celery["distributed_tracing"]:
            activate_distributed_headers(_tracer(), int_config=config.celery,
                                         request_headers=_remembered_context(task, task_id, publishing=False))
        span = _start(PRODUCER_SPAN, task_name, config.celery["producer_service_name"],
                      "_default_service_producer",
                      {"component": "celery", "span.kind": SpanKind.PRODUCER, MEASURED_KEY: 1,
                       "celery.action": "apply_async", "celery.id": task_id})
        holder = _publishing.get()
        if holder is not None:
            holder.append(span)
        _tag_from(span, kwargs)
        if kwargs.get("headers") is not None:
            _tag_from(span, kwargs["headers"])
        _attach(task, task_id, span, publishing=True)
        _inject(span.context, kwargs)


def _inject(context: Any, message: Dict[str, Any]) -> None:
    if config.celery["distributed_tracing"]:
        message.setdefault("headers", {}).setdefault("headers", {}).update(_headers_of(context))


def trace_after_publish(*args: Any, **kwargs: Any) -> None:
    with _safety.guard("celery"):
        task_name = kwargs.get("sender")
        task, task_id = celery.current_app.tasks.get(task_name), _task_id(kwargs)
        span = _retrieve(task, task_id, publishing=True) if task is not None and task_id is not None else None
        if span is None:
            return
        broker_url = celery.current_app.conf.broker_url
        broker_url = broker_url[0] if isinstance(broker_url, list) else broker_url
        host = None
        if broker_url == "memory://":
            host = broker_url
        else:
            parsed = urlparse(broker_url)
            host = parsed.hostname or None
            if parsed.port:
                span.set_metric(net.TARGET_PORT, parsed.port)
        if host:
            span.set_tag(net.TARGET_HOST, host)
        span.finish()
        _detach(task, task_id, publishing=True)


def _traced_apply_async(wrapped, instance, args, kwargs):
    """Finishes the producer span when publishing failed before
    after_task_publish, recording the exception."""
    holder: list = []
    token = _publishing.set(holder)
    try:
        return wrapped(*args, **kwargs)
    except Exception:
        with _safety.guard("celery"):
            for span in holder:
                span.set_exc_info(*sys.exc_info())
        raise
    finally:
        _publishing.reset(token)
        with _safety.guard("celery"):
            for span in holder:
                span.finish()    # idempotent: after_task_publish may have finished it


# -- beat ----------------------------------------------------------------------------
def _traced_beat(name: str, resource_of=None):
    def traced(wrapped, instance, args, kwargs):
        pin = Pin.get_from(instance)
        if pin is None or not pin.enabled():
            return wrapped(*args, **kwargs)
        with _tracer().trace("celery.beat." + name, span_type=SpanTypes.WORKER) as span:
            with _safety.guard("celery"):
                set_service_and_source(span, ext_service(pin, config.celery), config.celery)
                if resource_of is not None:
                    span.resource = resource_of(args)
                span.set_tags({"span.kind": SpanKind.PRODUCER, MEASURED_KEY: 1})
            return wrapped(*args, **kwargs)
    return traced


_SIGNALS = ((signals.task_prerun, trace_prerun), (signals.task_postrun, trace_postrun),
            (signals.before_task_publish, trace_before_publish), (signals.after_task_publish, trace_after_publish),
            (signals.task_failure, trace_failure), (signals.task_retry, trace_retry))


def patch_app(app: Any, pin: Optional[Pin] = None) -> Any:
    """Traces ``app`` (a Celery class or instance): a Pin, the wrappers and
    the signal handlers."""
    if getattr(app, "__datadog_patch", False):
        return app
    setattr(app, "__datadog_patch", True)
    pin = pin or Pin(service=config.celery["worker_service_name"], _config=config.celery)
    pin.onto(app)
    wrap(celery.beat, "Scheduler.apply_entry", _traced_beat("apply_entry", lambda args: args[0].name))
    wrap(celery.beat, "Scheduler.tick", _traced_beat("tick"))
    pin.onto(celery.beat.Scheduler)
    wrap(celery.app.task, "Task.apply_async", _traced_apply_async)
    for signal, handler in _SIGNALS:
        signal.connect(handler, weak=False)
    return app


def unpatch_app(app: Any) -> None:
    if not getattr(app, "__datadog_patch", False):
        return
    setattr(app, "__datadog_patch", False)
    pin = Pin.get_from(app)
    if pin is not None:
        pin.remove_from(app)
    unwrap(celery.beat.Scheduler, "apply_entry")
    unwrap(celery.beat.Scheduler, "tick")
    unwrap(celery.app.task.Task, "apply_async")
    for signal, handler in _SIGNALS:
        signal.disconnect(handler)


def patch() -> None:
    patch_app(celery.Celery)


def unpatch() -> None:
    unpatch_app(celery.Celery)
