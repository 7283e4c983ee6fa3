"""Database Monitoring propagation (``DD_DBM_PROPAGATION_MODE``), as ddtrace
4.16 does it: the SQL a traced client sends starts with a comment that lets
Datadog link the database's own samples to the service, and (``full``) to
the very span:

    /*dddb='test',dddbs='postgres',dde='prod',ddh='10.0.0.5',ddps='web',ddpv='1.2',
      traceparent='00-<trace id>-<span id>-01'*/ SELECT ...

``service`` names the services, ``full`` adds the W3C traceparent of the
query's span (deciding the trace's sampling first, so the flag is true) and
tags the span ``_dd.dbm_trace_injected: true``; ``disabled`` (the default)
sends the SQL unchanged. Keys are sorted and values URL-quoted, as
sqlcommenter writes them. A statement that is neither text nor bytes (and
that no driver-specific injector knows) is sent unchanged.
"""
import os
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote

from ddtrace import config

_MODES = ("disabled", "service", "full")


def propagation_mode() -> str:
    mode = os.environ.get("DD_DBM_PROPAGATION_MODE", "disabled").strip().lower()
    return mode if mode in _MODES else "disabled"


#: Read once at start-up, as ddtrace does.
MODE = propagation_mode()


def _quoted(value: Any) -> Any:
    return quote(value).replace("%", "%%") if isinstance(value, (str, bytes)) else value


def sql_comment(tags: Dict[str, Any]) -> str:
    """``/*k='v',...*/`` from ``tags`` (None values left out), or ''."""
    body = ",".join("{}={!r}".format(_quoted(key), _quoted(value))
                    for key, value in sorted(tags.items()) if value is not None)
    return "/*%s*/" % body if body else ""


def _traceparent(span: Any) -> str:
    from ddtrace.propagation.http import HTTPPropagator
    context = span.context
    if context.sampling_priority is None:
        HTTPPropagator.inject(context, {})      # decides the trace's sampling, as ddtrace does here
    sampled = (context.sampling_priority or 0) > 0
    return "00-%032x-%016x-%s" % (span.trace_id, span.span_id, "01" if sampled else "00")


def comment_for(span: Any, mode: str) -> str:
    """The comment (with its trailing space) for a query traced by ``span``."""
    tags = {"ddps": config.service, "dde": getattr(config, "env", None),
            "ddpv": getattr(config, "version", None), "dddbs": span.service}
    for key, tag in (("dddb", "db.name"), ("ddh", "out.host"), ("ddprs", "peer.service")):
        value = span.get_tag(tag)
        if value:
            tags[key] = value
    if mode == "full":
        span.set_tag("_dd.dbm_trace_injected", "true")
        tags["traceparent"] = _traceparent(span)
    comment = sql_comment(tags)
    return comment.strip() + " " if comment else ""


def default_injector(comment: str, statement: Any) -> Any:
    if isinstance(statement, bytes):
        return comment.encode("utf-8") + statement
    if isinstance(statement, str):
        return comment + statement
    return statement


def inject(span: Any, statement: Any, injector: Optional[Callable[[str, Any], Any]] = None) -> Any:
    """``statement`` with the comment of the configured mode in front (the
    statement itself when disabled)."""
    if MODE == "disabled":
        return statement
    return (injector or default_injector)(comment_for(span, MODE), statement)


def injector_for(cfg: Any) -> Optional[Callable[[str, Any], Any]]:
    """The integration's injector when propagation is on and the
    integration propagates (``_dbm_injector`` in its config), else None:
    what a traced cursor keeps, so a query pays nothing when it is off."""
    if MODE == "disabled":
        return None
    return cfg.get("_dbm_injector")
