"""SQLAlchemy as ddtrace 4.16 traces it: ``create_engine`` attaches an
EngineTracer that listens to the engine's ``before_cursor_execute`` (start
``<vendor>.query``, resource the statement, tags from the engine's URL or
else the cursor's DSN), ``after_cursor_execute`` (``db.row_count``, finish)
and ``handle_error`` (record the exception, finish). The span is created
with the parent's service and renamed, as ddtrace does (so it carries
``version``)."""
import sys
from typing import Any, Dict, Optional

import sqlalchemy
import sqlalchemy.engine
from sqlalchemy.event import listen

from ddtrace import config
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import MEASURED_KEY, _tracer, finish_span, start_span
from ddtrace.contrib.trace_utils import unwrap, wrap
from ddtrace.ext import SpanKind, SpanTypes, net, sql

config._add("sqlalchemy", {})

_TRACER_ATTRIBUTE = "_datadog_sqlalchemy_engine_tracer"


def get_version() -> str:
    return getattr(sqlalchemy, "__version__", "")


def _url_tags(url: Any) -> Dict[str, Any]:
    tags: Dict[str, Any] = {}
    if url.host:
        tags[net.TARGET_HOST] = tags[net.SERVER_ADDRESS] = url.host
    if url.port:
        tags[net.TARGET_PORT] = url.port
    if url.database:
        tags[sql.DB] = url.database
    return tags


def _cursor_tags(vendor: str, cursor: Any) -> Dict[str, Any]:
    tags: Dict[str, Any] = {}
    dsn = getattr(getattr(cursor, "connection", None), "dsn", None) if vendor == "postgres" else None
    if dsn:
        parsed = sql.parse_pg_dsn(dsn)
        if parsed.get("dbname") is not None:
            tags[sql.DB] = parsed["dbname"]
        if parsed.get("host") is not None:
            tags[net.TARGET_HOST] = tags[net.SERVER_ADDRESS] = parsed["host"]
        if parsed.get("port") is not None:
            tags[net.TARGET_PORT] = int(parsed["port"])
    return tags


class EngineTracer:
    """Traces one engine's statements through its events."""

    @classmethod
    def attach(cls, service: Optional[str], engine: Any) -> "EngineTracer":
        engine_tracer = getattr(engine, _TRACER_ATTRIBUTE, None)
        if engine_tracer is None:
            engine_tracer = cls(service, engine)
            setattr(engine, _TRACER_ATTRIBUTE, engine_tracer)
        elif service is not None:
            engine_tracer.config["service"] = service
        return engine_tracer

    def __init__(self, service: Optional[str], engine: Any) -> None:
        self.vendor = sql.normalize_vendor(engine.name)
        self.name = "%s.query" % self.vendor
        # the engine's own config: its service, default the vendor
        self.config = config.sqlalchemy.copy()
        self.config["_default_service"] = self.vendor
        self.config["service"] = service or self.vendor
        listen(engine, "before_cursor_execute", self._before_cursor_execute)
        listen(engine, "after_cursor_execute", self._after_cursor_execute)
        listen(engine, "handle_error", self._handle_error)

    def _before_cursor_execute(self, conn, cursor, statement, *args):
        tags: Dict[str, Any] = {"component": "sqlalchemy", "span.kind": SpanKind.CLIENT, MEASURED_KEY: 1}
        with _safety.guard("sqlalchemy"):
            found = _url_tags(conn.engine.url)
            tags.update(found if net.TARGET_HOST in found else dict(found, **_cursor_tags(self.vendor, cursor)))
        start_span(self.config, self.name, statement, SpanTypes.SQL, tags, born_with_service=False)

    def _after_cursor_execute(self, conn, cursor, statement, *args):
        span = _tracer().current_span()
        if span is None:
            return
        count = getattr(cursor, "rowcount", -1) if cursor is not None else -1
        finish_span(span, self.config, None, count if isinstance(count, int) and count >= 0 else None)

    def _handle_error(self, context):
        span = _tracer().current_span()
        if span is None:
            return
        exc_info = sys.exc_info()
        if exc_info[0] is None:
            error = context.original_exception
            exc_info = (type(error), error, error.__traceback__)
        finish_span(span, self.config, exc_info)


def trace_engine(engine: Any, tracer: Any = None, service: Optional[str] = None) -> None:
    """Traces ``engine`` (``tracer`` is ignored: the global one is used)."""
    EngineTracer.attach(service, engine)


def _traced_create_engine(wrapped, instance, args, kwargs):
    engine = wrapped(*args, **kwargs)
    with _safety.guard("sqlalchemy"):
        EngineTracer.attach(None, engine)
    return engine


def patch() -> None:
    if getattr(sqlalchemy.engine, "__datadog_patch", False):
        return
    setattr(sqlalchemy.engine, "__datadog_patch", True)
    wrap(sqlalchemy, "create_engine", _traced_create_engine)
    wrap(sqlalchemy.engine, "create_engine", _traced_create_engine)


def unpatch() -> None:
    if getattr(sqlalchemy.engine, "__datadog_patch", False):
        setattr(sqlalchemy.engine, "__datadog_patch", False)
        unwrap(sqlalchemy, "create_engine")
        unwrap(sqlalchemy.engine, "create_engine")
