"""``ddtrace.contrib.dbapi``: tracing any PEP 249 driver, written once.

A traced connection is a transparent proxy (``wrapt.ObjectProxy``) of the
driver's connection: ``cursor()`` hands out traced cursors, ``commit()``
and ``rollback()`` get a ``<vendor>.connection.<method>`` span. A traced
cursor gives ``execute``, ``executemany`` and ``callproc`` a span named
by the integration (``sqlite.query``, ``postgres.query``; ``sql.query``
by default) whose resource is the SQL text, with the connection's tags
(``db.system``, ``db.name``, ``out.host``...), ``component``,
``span.kind: client`` and, after the call, ``db.row_count``. With the
integration's ``trace_fetch_methods`` the fetches get spans too. This is
the span tree of ddtrace 4.16's dbapi module; drivers (sqlite3, psycopg,
pymysql...) only say how to build the connection's tags.

The driver's call is never inside the integration-failure guard, so the
application sees exactly the result or exception the driver gives; the
span records that exception (``error.type``/``message``/``stack``). Only
the tracing around it is guarded: a failure there costs tags or the span,
never the query. With ``DD_DBM_PROPAGATION_MODE`` the statement is sent
behind Database Monitoring's comment (ddtrace.propagation._database_monitoring)
by the drivers whose config names an injector.

The query methods (``execute``, ``executemany``, ``callproc``) are C
objects in the class (``_ctrace.DbCursorMethod``, src/python/db_cursor.h):
they do what ``traced_call`` does without a Python frame, and hand what is
rare (DBM comments, a disabled tracer) to the Python methods below, which
stay their ``__wrapped__``.
"""
import sys
from typing import Any, Callable, Dict, Mapping, Optional

import wrapt

from ddtrace import _ctrace, config
from ddtrace.contrib import _safety
from ddtrace.contrib.trace_utils import ext_resolved_service, ext_service_and_source, iswrapped
from ddtrace.ext import SpanKind, SpanTypes, db, sql
from ddtrace.propagation import _database_monitoring as _dbm

config._add("dbapi2", dict(_default_service="db", _dbapi_span_name_prefix="sql", trace_fetch_methods=None))

MEASURED_KEY = "_dd.measured"


def get_version() -> str:
    return ""


_global_tracer = None


def _tracer():
    """The global tracer, imported once (ddtrace imports this module
    before it has one)."""
    global _global_tracer
    if _global_tracer is None:
        from ddtrace import tracer
        _global_tracer = tracer
    return _global_tracer


def start_span(cfg: Any, name: str, resource: Optional[str], span_type: Optional[str],
               tags: Mapping[str, Any], born_with_service: bool = True) -> Any:
    """A started child span of the active one, with the integration's
    service and ``tags`` (``_dd.measured: 1`` among them for a measured
    span); the caller finishes it with ``finish_span``. ``None`` when
    tracing is off or the span could not be made. A failure while tagging
    it (counted) still returns the span: it costs tags, and the span stays
    active until finished, so the trace keeps its shape. Shared by the SQL
    and cache clients; on every query, hence try/except, not ``guard``.

    ddtrace tags ``version`` only on spans created with the application's
    own service: most integrations create theirs with their own service
    (``born_with_service``), a few (pymemcache) with the parent's and rename
    it after, so those carry ``version``."""
    try:
        tracer = _global_tracer or _tracer()
        if not tracer.enabled:
            return None
        service, source = ext_service_and_source(cfg)
        # positional: the C side parses them without matching keywords
        span = tracer.trace(name, service if born_with_service else None, resource, span_type)
    except Exception:
        _safety.failed(cfg.integration_name)
        return None
    try:
        if not born_with_service and service:
            span.service = service
        if source:
            span.set_tag("_dd.svc_src", source)
        span.set_tags(tags)
    except Exception:
        _safety.failed(cfg.integration_name)
    return span


def finish_span(span: Any, cfg: Any, exc_info: Any = None, row_count: Any = None) -> None:
    """Records the exception the call raised (if any), ``db.row_count``
    when the driver knows it, and finishes ``span``."""
    try:
        if exc_info is not None and exc_info[0] is not None:
            span.set_exc_info(*exc_info)
        if row_count.__class__ is int:
            span.set_metric(db.ROWCOUNT, row_count)
    except Exception:
        _safety.failed(cfg.integration_name)
    span.finish()


def call_in_span(span: Any, cfg: Any, method: Callable, args: tuple, kwargs: dict,
                 row_count: Optional[Callable[[Any], Any]] = None) -> Any:
    """``method(*args, **kwargs)`` timed by ``span`` (which may be None),
    its exception recorded and raised unchanged; ``row_count(result)``, if
    given, is the span's ``db.row_count`` after a success."""
    if span is None:
        return method(*args, **kwargs)
    try:
        result = method(*args, **kwargs)
    except BaseException:
        finish_span(span, cfg, sys.exc_info())
        raise
    count = None
    if row_count is not None:
        try:
            count = row_count(result)
        except Exception:
            _safety.failed(cfg.integration_name)
    finish_span(span, cfg, None, count)
    return result


def _base_tags(cfg: Any, db_tags: Optional[Mapping[str, Any]], measured: bool = False) -> Dict[str, Any]:
    tags = dict(db_tags or {})
    tags["component"] = cfg.integration_name
    tags["span.kind"] = SpanKind.CLIENT
    if measured:
        tags[MEASURED_KEY] = 1
    return tags


class CursorTracing:
    """What a traced cursor needs on every query, in one plain object: each
    of a wrapt proxy's own attributes costs a lookup through the proxy."""

    __slots__ = ("config", "name", "tags", "many_tags", "fetch_tags", "db_tags", "dbm_injector",
                 "last_query", "resource_of")

    def __init__(self, cfg: Any, db_tags: Optional[Mapping[str, Any]], resource_of: Any) -> None:
        prefix = cfg.get("_dbapi_span_name_prefix") or config.dbapi2["_dbapi_span_name_prefix"]
        self.config = cfg
        self.name = cfg.get("_dbapi_span_operation_name") or prefix + ".query"
        self.db_tags = dict(db_tags or {})
        self.tags = _base_tags(cfg, db_tags, measured=True)          # the query spans
        self.many_tags = dict(self.tags, **{"sql.executemany": "true"})
        self.fetch_tags = _base_tags(cfg, db_tags)
        self.dbm_injector = _dbm.injector_for(cfg)                  # None unless DD_DBM_PROPAGATION_MODE
        self.last_query = None
        self.resource_of = resource_of


def traced_call(tracing: CursorTracing, cursor: Any, method: Callable, name: str, query: Any,
                tags: Mapping[str, Any], args: tuple, kwargs: dict, dbm_injector: Any = None) -> Any:
    """``method(*args, **kwargs)`` of the driver's ``cursor`` in a span named
    ``name`` whose resource is ``query``; ``db.row_count`` from the cursor."""
    cfg = tracing.config
    if tracing.resource_of is not None:
        query = tracing.resource_of(cursor, query)
    span = start_span(cfg, name, query, SpanTypes.SQL, tags)
    if span is None:
        return method(*args, **kwargs)
    if dbm_injector is not None:
        args = with_dbm_comment(span, cfg, dbm_injector, args)
    try:
        result = method(*args, **kwargs)
    except BaseException:
        finish_span(span, cfg, sys.exc_info(), getattr(cursor, "rowcount", None))
        raise
    finish_span(span, cfg, None, getattr(cursor, "rowcount", None))
    return result


class TracedCursor(wrapt.ObjectProxy):
    """A driver's cursor whose queries are traced (see the module docstring)."""

    #: ``f(driver_cursor, query) -> resource`` for query objects that are
    #: not text (composed SQL); None: the query is the resource
    _resource_of = None

    def __init__(self, cursor: Any, pin: Any = None, cfg: Any = None,
                 db_tags: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(cursor)
        self._self_tracing = CursorTracing(cfg or config.dbapi2, db_tags, type(self)._resource_of)

    def __iter__(self):
        return self.__wrapped__.__iter__()

    def __next__(self):
        return self.__wrapped__.__next__()

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = query
        return traced_call(tracing, cursor, cursor.execute, tracing.name, query, tracing.tags,
                           (query,) + args, kwargs, tracing.dbm_injector)

    def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = query
        return traced_call(tracing, cursor, cursor.executemany, tracing.name, query, tracing.many_tags,
                           (query,) + args, kwargs, tracing.dbm_injector)

    def callproc(self, proc: Any, *args: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = proc
        return traced_call(tracing, cursor, cursor.callproc, tracing.name, proc, tracing.tags, (proc,) + args, {})

    def __enter__(self):
        # the driver's own error when its cursor is no context manager
        enter = type(self.__wrapped__).__enter__ if hasattr(type(self.__wrapped__), "__enter__") else None
        if enter is None:
            raise TypeError("'%s' object does not support the context manager protocol"
                            % type(self.__wrapped__).__name__)
        enter(self.__wrapped__)
        return self


#: resource_of hooks that give a str query back as it is: DbCursorMethod
#: makes the resource of a str query without calling them (psycopg adds its own)
TEXT_KEEPING_RESOURCE_HOOKS: set = set()


def _resolved_service(cfg: Any) -> Any:
    # this module's ext_service_and_source: what a test may replace
    return ext_resolved_service(cfg, ext_service_and_source)


def in_c(owner: type, name: str, tags: str = "tags", returns_proxy: bool = False) -> None:
    """``owner.<name>`` (a query method: the driver's method of that name
    in ``tracing.<tags>``'s span) replaced by its C version; the Python
    one stays its ``__wrapped__``, for what is rare."""
    from ddtrace._tracer import tracer
    method = owner.__dict__[name]
    setattr(owner, name, _ctrace.DbCursorMethod(tracer, _resolved_service, _safety.failed, name, tags,
                                                TEXT_KEEPING_RESOURCE_HOOKS, returns_proxy, method))


in_c(TracedCursor, "execute")
in_c(TracedCursor, "executemany", "many_tags")
in_c(TracedCursor, "callproc")


class FetchTracedCursor(TracedCursor):
    """A traced cursor whose ``fetchone``/``fetchmany``/``fetchall`` have
    spans too (``<name>.fetchone``...; the integration's
    ``trace_fetch_methods``), with the last query as resource."""

    def _fetch(self, method_name: str, args: tuple, kwargs: dict, tags: Mapping[str, Any]) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        return traced_call(tracing, cursor, getattr(cursor, method_name), "%s.%s" % (tracing.name, method_name),
                           tracing.last_query, tags, args, kwargs)

    def fetchone(self, *args: Any, **kwargs: Any) -> Any:
        return self._fetch("fetchone", args, kwargs, self._self_tracing.fetch_tags)

    def fetchall(self, *args: Any, **kwargs: Any) -> Any:
        return self._fetch("fetchall", args, kwargs, self._self_tracing.fetch_tags)

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        return self._fetch("fetchmany", args, kwargs, fetch_size_tags(self, args, kwargs))


def with_dbm_comment(span: Any, cfg: Any, injector: Any, args: tuple) -> tuple:
    """``args`` with the statement (first) behind the DBM comment."""
    try:
        return (_dbm.inject(span, args[0], injector),) + args[1:]
    except Exception:
        _safety.failed(cfg.integration_name)
        return args


def fetch_size_tags(cursor: TracedCursor, args: tuple, kwargs: dict) -> Dict[str, Any]:
    """``db.fetch.size``: the rows asked of ``fetchmany`` (else the cursor's
    ``arraysize``), as ddtrace tags it."""
    tags = dict(cursor._self_tracing.fetch_tags)
    size = args[0] if args else kwargs.get("size", getattr(cursor.__wrapped__, "arraysize", None))
    if size:
        tags["db.fetch.size"] = size
    return tags


def text_or_none(value: Any) -> Any:
    """A connection attribute as ddtrace tags it: numbers as their text,
    bytes decoded, an empty value as it is."""
    if not value:
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def vendor_of(conn: Any) -> str:
    """``postgres``, ``sqlite``, ``mysql``...: the span-name prefix of a
    connection's own spans, from its driver's module name."""
    try:
        return sql.normalize_vendor(type(conn).__module__.split(".")[0])
    except Exception:
        return "sql"


class TracedConnection(wrapt.ObjectProxy):
    """A driver's connection whose cursors, commits and rollbacks are traced."""

    def __init__(self, conn: Any, pin: Any = None, cfg: Any = None, cursor_cls: Any = None,
                 db_tags: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(conn)
        cfg = cfg or config.dbapi2
        if cursor_cls is None:
            cursor_cls = FetchTracedCursor if cfg.get("trace_fetch_methods") else TracedCursor
        self._self_datadog_name = "%s.connection" % vendor_of(conn)
        self._self_cursor_cls = cursor_cls
        self._self_config = cfg
        self._self_db_tags = dict(db_tags or {})
        self._self_tags = _base_tags(cfg, db_tags)

    def __enter__(self):
        # What the driver's __enter__ returns decides (sqlite3 and psycopg
        # give the connection, old mysqlclient a cursor): keep it traced.
        entered = self.__wrapped__.__enter__()
        if entered is self.__wrapped__:
            return self
        if hasattr(entered, "execute") and not hasattr(entered, "cursor") and not iswrapped(entered):
            return self._self_cursor_cls(entered, cfg=self._self_config, db_tags=self._self_db_tags)
        return entered

    def _trace_method(self, method: Callable, name: str, args: tuple, kwargs: dict) -> Any:
        cfg = self._self_config
        return call_in_span(start_span(cfg, name, None, None, self._self_tags), cfg, method, args, kwargs)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        cursor = self.__wrapped__.cursor(*args, **kwargs)
        return self._self_cursor_cls(cursor, cfg=self._self_config, db_tags=self._self_db_tags)

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        return self._trace_method(self.__wrapped__.commit, self._self_datadog_name + ".commit", args, kwargs)

    def rollback(self, *args: Any, **kwargs: Any) -> Any:
        return self._trace_method(self.__wrapped__.rollback, self._self_datadog_name + ".rollback",
                                  args, kwargs)
