"""mysqlclient (``MySQLdb``) through the shared DB-API tracing.
``MySQLdb.connect`` and its aliases ``Connect`` and ``Connection`` return a
traced connection tagged from the connect arguments (host, user, database)
and the connection's port, as ddtrace 4.16 does; with
``DD_MYSQLDB_TRACE_CONNECT`` connecting gets a span too."""
import os

import MySQLdb

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import MEASURED_KEY, TracedConnection, call_in_span, start_span, text_or_none
from ddtrace.contrib.trace_utils import unwrap, wrap
from ddtrace.ext import SpanKind, SpanTypes, db, net
from ddtrace.propagation import _database_monitoring as _dbm

config._add("mysqldb", dict(
    _default_service="mysql",
    _dbapi_span_name_prefix="mysql",
    _dbm_injector=_dbm.default_injector,
    _dbapi_span_operation_name="mysql.query",
    trace_fetch_methods=asbool(os.environ.get("DD_MYSQLDB_TRACE_FETCH_METHODS", "false")),
    trace_connect=asbool(os.environ.get("DD_MYSQLDB_TRACE_CONNECT", "false")),
))

# tag: (keyword, position) of the connect argument
_ARGUMENT_OF_TAG = {net.TARGET_HOST: ("host", 0), net.SERVER_ADDRESS: ("host", 0),
                    db.USER: ("user", 1), db.NAME: ("db", 3)}
_ALIASES = ("Connect", "Connection", "connect")


def get_version() -> str:
    return ".".join(map(str, MySQLdb.version_info[0:3]))


def connection_tags(conn, args, kwargs) -> dict:
    tags = {}
    with _safety.guard("mysqldb"):
        tags.update((tag, text_or_none(kwargs[key] if key in kwargs else args[position]))
                    for tag, (key, position) in _ARGUMENT_OF_TAG.items() if key in kwargs or len(args) > position)
        tags[db.SYSTEM] = "mysql"
        tags[net.TARGET_PORT] = text_or_none(conn.port)
    tags.setdefault(db.SYSTEM, "mysql")
    return tags


def _traced_connect(wrapped, instance, args, kwargs):
    cfg = config.mysqldb
    span = None
    if cfg.trace_connect:
        span = start_span(cfg, "MySQLdb.connection.connect", None, SpanTypes.SQL,
                          {"component": cfg.integration_name, "span.kind": SpanKind.CLIENT, MEASURED_KEY: 1})
    conn = call_in_span(span, cfg, wrapped, args, kwargs)
    return TracedConnection(conn, cfg=cfg, db_tags=connection_tags(conn, args, kwargs))


def patch() -> None:
    if getattr(MySQLdb, "_datadog_patch", False):
        return
    MySQLdb._datadog_patch = True
    for name in _ALIASES:
        if hasattr(MySQLdb, name):
            wrap(MySQLdb, name, _traced_connect)


def unpatch() -> None:
    if getattr(MySQLdb, "_datadog_patch", False):
        MySQLdb._datadog_patch = False
        for name in _ALIASES:
            unwrap(MySQLdb, name)
