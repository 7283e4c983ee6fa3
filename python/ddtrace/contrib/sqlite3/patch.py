"""sqlite3 through the shared DB-API tracing: ``sqlite3.connect`` returns a
traced connection whose ``execute``/``executemany`` shortcuts go through a
traced cursor, as in ddtrace 4.16."""
import os
import sqlite3
import sqlite3.dbapi2

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib.dbapi import FetchTracedCursor, TracedConnection, TracedCursor, in_c, traced_call
from ddtrace.contrib.trace_utils import unwrap, wrap
from ddtrace.ext import db

config._add("sqlite", dict(
    _default_service="sqlite",
    _dbapi_span_name_prefix="sqlite",
    _dbapi_span_operation_name="sqlite.query",
    trace_fetch_methods=asbool(os.environ.get("DD_SQLITE_TRACE_FETCH_METHODS", "false")),
))


def get_version() -> str:
    return sqlite3.sqlite_version


class TracedSQLiteCursor(TracedCursor):
    # sqlite3's execute returns the cursor itself: the traced one, here
    def execute(self, query, *args, **kwargs):
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = query
        traced_call(tracing, cursor, cursor.execute, tracing.name, query, tracing.tags, (query,) + args, kwargs,
                    tracing.dbm_injector)
        return self

    def executemany(self, *args, **kwargs):
        super().executemany(*args, **kwargs)
        return self


in_c(TracedSQLiteCursor, "execute", returns_proxy=True)
in_c(TracedSQLiteCursor, "executemany", "many_tags", returns_proxy=True)


class TracedSQLiteFetchCursor(TracedSQLiteCursor, FetchTracedCursor):
    pass


class TracedSQLite(TracedConnection):
    """A sqlite3 connection; its ``execute`` shortcut is traced (its
    ``executemany`` and ``executescript`` are not, as in ddtrace)."""

    def __init__(self, conn, cursor_cls=None):
        if cursor_cls is None:
            cursor_cls = TracedSQLiteFetchCursor if config.sqlite.trace_fetch_methods else TracedSQLiteCursor
        super().__init__(conn, cfg=config.sqlite, cursor_cls=cursor_cls, db_tags={db.SYSTEM: "sqlite"})

    def execute(self, *args, **kwargs):
        return self.cursor().execute(*args, **kwargs)

    def backup(self, target, *args, **kwargs):
        # sqlite3 checks that the target is a real connection
        if isinstance(target, TracedConnection):
            target = target.__wrapped__
        return self.__wrapped__.backup(target, *args, **kwargs)


def _traced_connect(wrapped, instance, args, kwargs):
    return TracedSQLite(wrapped(*args, **kwargs))


def patch() -> None:
    if getattr(sqlite3, "_datadog_patch", False):
        return
    sqlite3._datadog_patch = True
    wrap(sqlite3, "connect", _traced_connect)
    wrap(sqlite3.dbapi2, "connect", _traced_connect)


def unpatch() -> None:
    if getattr(sqlite3, "_datadog_patch", False):
        sqlite3._datadog_patch = False
        unwrap(sqlite3, "connect")
        unwrap(sqlite3.dbapi2, "connect")
