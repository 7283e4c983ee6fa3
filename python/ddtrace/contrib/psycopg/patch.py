"""psycopg2 and psycopg 3 through the shared DB-API tracing.

``connect`` (and psycopg 3's ``Connection.connect`` and
``AsyncConnection.connect``) returns a traced connection tagged from its
DSN. psycopg2's C functions that check they were given a real connection
(``register_type``, ``quote_ident``, an adapter's ``prepare``) are handed
the driver's connection behind the proxy, so extras such as
``register_json(conn)`` keep working on a traced connection. Composed SQL
(``psycopg.sql``) is rendered to its text for the resource. A psycopg 3
cursor built directly on a traced connection (``psycopg.Cursor(conn)``,
``psycopg.AsyncCursor(conn)``) is traced like one from ``conn.cursor()``.
"""
import os
import sys
from importlib import import_module

import wrapt

from ddtrace import config
from ddtrace._config import asbool
from ddtrace._pin import Pin
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import (MEASURED_KEY, TEXT_KEEPING_RESOURCE_HOOKS, FetchTracedCursor, TracedConnection,
                                   TracedCursor, call_in_span, finish_span, start_span)
from ddtrace.contrib.dbapi_async import FetchTracedAsyncCursor, TracedAsyncConnection, TracedAsyncCursor
from ddtrace.contrib.trace_utils import iswrapped, unwrap, wrap
from ddtrace.ext import SpanTypes, db, net, sql
from ddtrace.propagation import _database_monitoring as _dbm

def _psycopg_injector(comment, statement):
    # composed SQL (psycopg.sql, psycopg2.sql) gets a composed comment
    for module in _modules():
        sql_module = getattr(module, "sql", None)
        if sql_module is not None and isinstance(statement, sql_module.Composable):
            return sql_module.SQL(comment) + statement
    return _dbm.default_injector(comment, statement)


config._add("psycopg", dict(
    _dbm_injector=_psycopg_injector,
    _default_service="postgres",
    _dbapi_span_name_prefix="postgres",
    _dbapi_span_operation_name="postgres.query",
    trace_fetch_methods=asbool(os.environ.get("DD_PSYCOPG_TRACE_FETCH_METHODS", "false")),
    trace_connect=asbool(os.environ.get("DD_PSYCOPG_TRACE_CONNECT", "false")),
    dbms_name="postgresql",
))


def get_version() -> str:
    return ""


# -- cursors and connections --------------------------------------------------------
def composed_text(cursor, query):
    """psycopg.sql.SQL / Composed: the text the server receives."""
    if type(query).__name__ in ("SQL", "Composed"):
        try:
            return query.as_string(cursor)
        except Exception:
            return str(query)
    return query


TEXT_KEEPING_RESOURCE_HOOKS.add(composed_text)


class PsycopgTracedCursor(TracedCursor):
    _resource_of = staticmethod(composed_text)


class PsycopgFetchTracedCursor(FetchTracedCursor):
    _resource_of = staticmethod(composed_text)


class PsycopgTracedAsyncCursor(TracedAsyncCursor):
    _resource_of = staticmethod(composed_text)


class PsycopgFetchTracedAsyncCursor(FetchTracedAsyncCursor):
    _resource_of = staticmethod(composed_text)


class Psycopg2TracedConnection(TracedConnection):
    def __init__(self, conn, db_tags=None):
        fetch = config.psycopg.trace_fetch_methods
        super().__init__(conn, cfg=config.psycopg, db_tags=db_tags,
                         cursor_cls=PsycopgFetchTracedCursor if fetch else PsycopgTracedCursor)


class Psycopg3TracedConnection(TracedConnection):
    def __init__(self, conn, db_tags=None):
        fetch = config.psycopg.trace_fetch_methods
        super().__init__(conn, cfg=config.psycopg, db_tags=db_tags,
                         cursor_cls=PsycopgFetchTracedCursor if fetch else PsycopgTracedCursor)

    def execute(self, query, params=None, **kwargs):
        """``Connection.execute``: a cursor's traced execute, as psycopg does."""
        cursor = self.cursor()
        return cursor.execute(query, params, **kwargs)


class Psycopg3TracedAsyncConnection(TracedAsyncConnection):
    def __init__(self, conn, db_tags=None):
        fetch = config.psycopg.trace_fetch_methods
        super().__init__(conn, cfg=config.psycopg, db_tags=db_tags,
                         cursor_cls=PsycopgFetchTracedAsyncCursor if fetch else PsycopgTracedAsyncCursor)

    async def execute(self, query, params=None, **kwargs):
        """``AsyncConnection.execute``: a ``psycopg.connection.execute`` span
        around the cursor's ``postgres.query``, as ddtrace 4.16 traces it."""
        async def execute_on_cursor(query, params=None, **kwargs):
            return await self.cursor().execute(query, params, **kwargs)
        return await self._trace_method(execute_on_cursor, self._self_datadog_name + ".execute",
                                        (query, params), kwargs)


def connection_tags(conn) -> dict:
    """``db.*`` and ``out.host`` tags of a connection, from its DSN."""
    tags = {db.SYSTEM: "postgresql"}
    with _safety.guard("psycopg"):
        dsn = sql.parse_pg_dsn(conn.dsn if hasattr(conn, "dsn") else conn.info.dsn)
        if dsn:
            tags.update({
                net.TARGET_HOST: dsn.get("host"),
                net.TARGET_PORT: dsn.get("port", 5432),   # the span makes it a metric
                net.SERVER_ADDRESS: dsn.get("host"),
                db.NAME: dsn.get("dbname"),
                db.USER: dsn.get("user"),
                "db.application": dsn.get("application_name"),
            })
    return tags


def _traced(conn, traced_cls):
    if getattr(conn, "closed", False):
        return conn
    return traced_cls(conn, db_tags=connection_tags(conn))


# -- connect ------------------------------------------------------------------------
def _connect_span(module, connect_func):
    """The ``psycopg2.connect``-style span of DD_PSYCOPG_TRACE_CONNECT, or None."""
    pin = Pin.get_from(module)
    cfg = config.psycopg
    if pin is None or not pin.enabled() or not cfg.trace_connect:
        return None
    name = "%s.%s" % (getattr(connect_func, "__module__", module.__name__), connect_func.__name__)
    return start_span(cfg, name, None, SpanTypes.SQL,
                      {"span.kind": "client", "component": cfg.integration_name, db.SYSTEM: cfg.dbms_name,
                       MEASURED_KEY: 1})


def _connect_factory(module, traced_cls):
    def traced_connect(wrapped, instance, args, kwargs):
        conn = call_in_span(_connect_span(module, wrapped), config.psycopg, wrapped, args, kwargs)
        return _traced(conn, traced_cls)
    return traced_connect


def _async_connect_factory(module):
    async def traced_connect(wrapped, instance, args, kwargs):
        span = _connect_span(module, wrapped)
        if span is None:
            return _traced(await wrapped(*args, **kwargs), Psycopg3TracedAsyncConnection)
        try:
            conn = await wrapped(*args, **kwargs)
        except BaseException:
            finish_span(span, config.psycopg, sys.exc_info())
            raise
        finish_span(span, config.psycopg)
        return _traced(conn, Psycopg3TracedAsyncConnection)
    return traced_connect


# -- psycopg 3 cursors built directly ---------------------------------------------------
def _traced_connection_argument(args, kwargs):
    """The traced connection a cursor is built on, taken out of the
    arguments (ddtrace's rule: ``connection=``, else the first positional
    argument that is a traced connection), with the remaining arguments;
    None when there is none."""
    connection = kwargs.get("connection")
    if connection is not None:
        if not isinstance(connection, TracedConnection):
            return None, args, kwargs
        kwargs = dict(kwargs)
        del kwargs["connection"]
        return connection, args, kwargs
    for index, arg in enumerate(args):
        if isinstance(arg, TracedConnection):
            return arg, args[:index] + args[index + 1:], kwargs
    return None, args, kwargs


def _cursor_factory(module):
    """``psycopg.Cursor(conn)`` and ``psycopg.AsyncCursor(conn)`` on a
    traced connection give a traced cursor, as ``conn.cursor()`` does.
    The cursor is built on the traced connection itself, as in ddtrace, so
    its ``connection`` is the traced one too."""
    def traced_cursor(wrapped, instance, args, kwargs):
        connection, rest, rest_kwargs = _traced_connection_argument(args, kwargs)
        if connection is None:
            return wrapped(*args, **kwargs)
        cursor = wrapped(connection, *rest, **rest_kwargs)
        fetch = config.psycopg.trace_fetch_methods
        if issubclass(wrapped, module.AsyncCursor):
            cursor_cls = PsycopgFetchTracedAsyncCursor if fetch else PsycopgTracedAsyncCursor
        else:
            cursor_cls = PsycopgFetchTracedCursor if fetch else PsycopgTracedCursor
        return cursor_cls(cursor, cfg=config.psycopg, db_tags=connection._self_db_tags)
    return traced_cursor


# -- psycopg2's C functions that want the real connection ------------------------------
def _unproxied(value):
    return value.__wrapped__ if iswrapped(value) else value


def _with_real_scope(wrapped, instance, args, kwargs):
    # register_type(obj, scope) and quote_ident(name, scope)
    args = tuple(_unproxied(a) for a in args)
    kwargs = {k: _unproxied(v) for k, v in kwargs.items()}
    return wrapped(*args, **kwargs)


class _AdapterWithRealConnection(wrapt.ObjectProxy):
    def prepare(self, conn, *args, **kwargs):
        return self.__wrapped__.prepare(_unproxied(conn), *args, **kwargs)


def _adapt(wrapped, instance, args, kwargs):
    adapter = wrapped(*args, **kwargs)
    return _AdapterWithRealConnection(adapter) if hasattr(adapter, "prepare") else adapter


def _psycopg2_extensions(module):
    found = [(module.extensions, "register_type", _with_real_scope),
             (module._psycopg, "register_type", _with_real_scope),
             (module.extensions, "adapt", _adapt),
             (module.extensions, "quote_ident", _with_real_scope)]
    if getattr(module, "_json", None) is not None:
        found.append((module._json, "register_type", _with_real_scope))
    return [(owner, name, wrapper) for owner, name, wrapper in found if hasattr(owner, name)]


# -- patch / unpatch ----------------------------------------------------------------
def _modules():
    for name in ("psycopg", "psycopg2"):
        try:
            yield import_module(name)
        except ImportError:
            pass


def patch() -> None:
    for module in _modules():
        if getattr(module, "_datadog_patch", False):
            continue
        module._datadog_patch = True
        Pin(_config=config.psycopg).onto(module)
        if module.__name__ == "psycopg2":
            for owner, name, wrapper in _psycopg2_extensions(module):
                if not iswrapped(owner, name):
                    wrap(owner, name, wrapper)
            wrap(module, "connect", _connect_factory(module, Psycopg2TracedConnection))
        else:
            wrap(module, "connect", _connect_factory(module, Psycopg3TracedConnection))
            wrap(module.Connection, "connect", _connect_factory(module, Psycopg3TracedConnection))
            wrap(module.AsyncConnection, "connect", _async_connect_factory(module))
            wrap(module, "Cursor", _cursor_factory(module))
            wrap(module, "AsyncCursor", _cursor_factory(module))


def unpatch() -> None:
    for module in _modules():
        if not getattr(module, "_datadog_patch", False):
            continue
        module._datadog_patch = False
        unwrap(module, "connect")
        if module.__name__ == "psycopg2":
            for owner, name, _ in _psycopg2_extensions(module):
                unwrap(owner, name)
        else:
            _unwrap_classmethod(module.Connection, "connect")
            _unwrap_classmethod(module.AsyncConnection, "connect")
            unwrap(module, "Cursor")
            unwrap(module, "AsyncCursor")
        pin = Pin.get_from(module)
        if pin is not None:
            pin.remove_from(module)


def _unwrap_classmethod(cls, name):
    # the class dict holds the wrapper of the classmethod
    current = cls.__dict__.get(name)
    if iswrapped(current):
        setattr(cls, name, current.__wrapped__)
