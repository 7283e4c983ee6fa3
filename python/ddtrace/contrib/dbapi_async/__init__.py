"""``ddtrace.contrib.dbapi_async``: the DB-API tracing of
``ddtrace.contrib.dbapi`` for drivers whose methods are coroutines
(psycopg 3's ``AsyncConnection``, aiomysql...). Same spans, same rules;
the span covers the ``await``. As in ddtrace 4.16 an async connection's
``execute`` also gets a ``<vendor>.connection.execute`` span around the
query's."""
import inspect
import sys
from typing import Any, Callable

from ddtrace import config
from ddtrace.contrib.dbapi import (TracedConnection, TracedCursor, fetch_size_tags, finish_span, start_span,
                                   with_dbm_comment)
from ddtrace.contrib.trace_utils import iswrapped
from ddtrace.ext import SpanTypes


def get_version() -> str:
    return ""


async def await_in_span(span: Any, cfg: Any, method: Callable, args: tuple, kwargs: dict) -> Any:
    """``await method(*args, **kwargs)`` timed by ``span`` (which may be
    None), its exception recorded and raised unchanged: ``call_in_span``
    for coroutines."""
    if span is None:
        return await method(*args, **kwargs)
    try:
        result = await method(*args, **kwargs)
    except BaseException:
        finish_span(span, cfg, sys.exc_info())
        raise
    finish_span(span, cfg)
    return result


async def traced_await(tracing: Any, cursor: Any, method: Callable, name: str, query: Any, tags: Any,
                       args: tuple, kwargs: dict, dbm_injector: Any = None) -> Any:
    """``dbapi.traced_call`` for a coroutine method: the span covers the await."""
    cfg = tracing.config
    if tracing.resource_of is not None:
        query = tracing.resource_of(cursor, query)
    span = start_span(cfg, name, query, SpanTypes.SQL, tags)
    if span is None:
        return await method(*args, **kwargs)
    if dbm_injector is not None:
        args = with_dbm_comment(span, cfg, dbm_injector, args)
    try:
        result = await method(*args, **kwargs)
    except BaseException:
        finish_span(span, cfg, sys.exc_info(), getattr(cursor, "rowcount", None))
        raise
    finish_span(span, cfg, None, getattr(cursor, "rowcount", None))
    return result


class TracedAsyncCursor(TracedCursor):
    async def __aenter__(self):
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        return await self.__wrapped__.__aexit__(exc_type, exc_val, exc_tb)

    def __aiter__(self):
        return self.__wrapped__.__aiter__()

    async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = query
        return await traced_await(tracing, cursor, cursor.execute, tracing.name, query, tracing.tags,
                                  (query,) + args, kwargs, tracing.dbm_injector)

    async def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        tracing.last_query = query
        return await traced_await(tracing, cursor, cursor.executemany, tracing.name, query, tracing.many_tags,
                                  (query,) + args, kwargs, tracing.dbm_injector)


class FetchTracedAsyncCursor(TracedAsyncCursor):
    async def _fetch(self, method_name: str, args: tuple, kwargs: dict, tags: Any) -> Any:
        tracing, cursor = self._self_tracing, self.__wrapped__
        return await traced_await(tracing, cursor, getattr(cursor, method_name),
                                  "%s.%s" % (tracing.name, method_name), tracing.last_query, tags, args, kwargs)

    async def fetchone(self, *args: Any, **kwargs: Any) -> Any:
        return await self._fetch("fetchone", args, kwargs, self._self_tracing.fetch_tags)

    async def fetchall(self, *args: Any, **kwargs: Any) -> Any:
        return await self._fetch("fetchall", args, kwargs, self._self_tracing.fetch_tags)

    async def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._fetch("fetchmany", args, kwargs, fetch_size_tags(self, args, kwargs))


class TracedAsyncConnection(TracedConnection):
    def __init__(self, conn: Any, pin: Any = None, cfg: Any = None, cursor_cls: Any = None,
                 db_tags: Any = None) -> None:
        cfg = cfg or config.dbapi2
        if cursor_cls is None:
            cursor_cls = FetchTracedAsyncCursor if cfg.get("trace_fetch_methods") else TracedAsyncCursor
        super().__init__(conn, cfg=cfg, cursor_cls=cursor_cls, db_tags=db_tags)

    async def __aenter__(self):
        entered = await self.__wrapped__.__aenter__()
        if entered is self.__wrapped__:
            return self
        if hasattr(entered, "execute") and not hasattr(entered, "cursor") and not iswrapped(entered):
            return self._self_cursor_cls(entered, cfg=self._self_config, db_tags=self._self_db_tags)
        return entered

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        return await self.__wrapped__.__aexit__(exc_type, exc_val, exc_tb)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        cursor = self.__wrapped__.cursor(*args, **kwargs)
        if inspect.isawaitable(cursor):
            async def traced_cursor():
                return self._self_cursor_cls(await cursor, cfg=self._self_config, db_tags=self._self_db_tags)
            return traced_cursor()
        return self._self_cursor_cls(cursor, cfg=self._self_config, db_tags=self._self_db_tags)

    async def _trace_method(self, method: Callable, name: str, args: tuple, kwargs: dict) -> Any:
        cfg = self._self_config
        return await await_in_span(start_span(cfg, name, None, None, self._self_tags), cfg, method, args, kwargs)

    async def commit(self, *args: Any, **kwargs: Any) -> Any:
        return await self._trace_method(self.__wrapped__.commit, self._self_datadog_name + ".commit",
                                        args, kwargs)

    async def rollback(self, *args: Any, **kwargs: Any) -> Any:
        return await self._trace_method(self.__wrapped__.rollback, self._self_datadog_name + ".rollback",
                                        args, kwargs)
