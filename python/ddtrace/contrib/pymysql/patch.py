"""PyMySQL through the shared DB-API tracing: ``pymysql.connect`` returns a
traced connection tagged with the server's host, port, user and database,
as ddtrace 4.16 does."""
import os

import pymysql

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import TracedConnection, text_or_none
from ddtrace.contrib.trace_utils import unwrap, wrap
from ddtrace.ext import db, net
from ddtrace.propagation import _database_monitoring as _dbm

config._add("pymysql", dict(
    _default_service="pymysql",
    _dbapi_span_name_prefix="pymysql",
    _dbm_injector=_dbm.default_injector,
    _dbapi_span_operation_name="pymysql.query",
    trace_fetch_methods=asbool(os.environ.get("DD_PYMYSQL_TRACE_FETCH_METHODS", "false")),
))

_ATTRIBUTE_OF_TAG = {net.TARGET_HOST: "host", net.TARGET_PORT: "port", net.SERVER_ADDRESS: "host",
                     db.USER: "user", db.NAME: "db"}


def get_version() -> str:
    return getattr(pymysql, "__version__", "")


def connection_tags(conn) -> dict:
    tags = {db.SYSTEM: "mysql"}
    with _safety.guard("pymysql"):
        tags.update((tag, text_or_none(getattr(conn, attribute))) for tag, attribute in _ATTRIBUTE_OF_TAG.items()
                    if getattr(conn, attribute, "") != "")
    return tags


def _traced_connect(wrapped, instance, args, kwargs):
    conn = wrapped(*args, **kwargs)
    return TracedConnection(conn, cfg=config.pymysql, db_tags=connection_tags(conn))


def patch() -> None:
    if getattr(pymysql, "_datadog_patch", False):
        return
    pymysql._datadog_patch = True
    wrap(pymysql, "connect", _traced_connect)


def unpatch() -> None:
    if getattr(pymysql, "_datadog_patch", False):
        pymysql._datadog_patch = False
        unwrap(pymysql, "connect")
