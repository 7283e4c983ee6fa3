"""asyncpg as ddtrace 4.16 traces it. ``asyncpg.connect`` gets a
``postgres.connect`` span and returns a proxy of the connection whose
protocol carries a Pin with the connection's tags; every query goes
through one of the protocol's methods (``execute``, ``bind_execute``,
``query``, ``bind_execute_many``), each given a ``postgres.query`` span
whose resource is the SQL. Pools connect through asyncpg's own module:
their queries are traced with the module's Pin (no connection tags), as in
ddtrace. Both spans are created with the parent's service and renamed, so
they carry ``version`` as ddtrace's do.

With ``DD_DBM_PROPAGATION_MODE`` a query sent as text (``Protocol.query``:
``conn.execute`` without arguments) gets the Database Monitoring comment;
a prepared statement (``fetch``, ``execute`` with arguments) is sent as
it is, though in ``full`` mode its span is still tagged
``_dd.dbm_trace_injected``, and ``bind_execute_many`` (``executemany``)
gets neither: what ddtrace 4.16 does."""
import sys
from typing import Any, Dict

import asyncpg
import asyncpg.protocol
import wrapt

from ddtrace import config
from ddtrace._pin import Pin
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import MEASURED_KEY, finish_span, start_span, with_dbm_comment
from ddtrace.contrib.dbapi_async import await_in_span
from ddtrace.contrib.trace_utils import iswrapped, unwrap, with_traced_module, wrap
from ddtrace.ext import SpanKind, SpanTypes, db, net
from ddtrace.propagation import _database_monitoring as _dbm

config._add("asyncpg", dict(_default_service="postgres", _dbm_injector=_dbm.default_injector))

#: The settings, held once: ``config.asyncpg`` is found through the global
#: config's Python __getattr__, several times per query otherwise.
_config = config.asyncpg

DBMS_NAME = "postgresql"
_PROTOCOL_METHODS = ("execute", "bind_execute", "query", "bind_execute_many")
_SPAN_TAGS = {"component": "asyncpg", db.SYSTEM: DBMS_NAME, "span.kind": SpanKind.CLIENT}
_QUERY_TAGS = dict(_SPAN_TAGS, **{MEASURED_KEY: 1})


def get_version() -> str:
    return getattr(asyncpg, "__version__", "")


def connection_tags(conn: Any) -> Dict[str, Any]:
    host = port = ""
    addr, params = conn._addr, conn._params
    if isinstance(addr, tuple) and len(addr) == 2:
        host, port = addr
    return {net.TARGET_HOST: host, net.TARGET_PORT: port, net.SERVER_ADDRESS: host,
            db.USER: params.user, db.NAME: params.database}


class TracedConnection(wrapt.ObjectProxy):
    """An asyncpg connection; its Pin lives on its protocol, where the
    traced methods find it."""

    def __init__(self, conn: Any, pin: Pin) -> None:
        super().__init__(conn)
        with _safety.guard("asyncpg"):
            tags = connection_tags(conn)
            tags[db.SYSTEM] = DBMS_NAME
            pin.clone(tags=tags).onto(conn._protocol)

    def __setddpin__(self, pin: Pin) -> None:
        pin.onto(self._protocol)

    def __getddpin__(self) -> Any:
        return Pin.get_from(self._protocol)


def _start(pin: Pin, name: str, resource: Any, tags: Dict[str, Any]) -> Any:
    cfg = _config
    if pin.service:      # a connection's own service (Pin.override)
        cfg = cfg.copy()
        cfg["service"] = pin.service
    return start_span(cfg, name, resource, SpanTypes.SQL, tags, born_with_service=False)


@with_traced_module
async def _traced_connect(module, pin, wrapped, instance, args, kwargs):
    span = _start(pin, "postgres.connect", None, _SPAN_TAGS)
    if span is None:
        return TracedConnection(await wrapped(*args, **kwargs), pin)
    try:
        conn = TracedConnection(await wrapped(*args, **kwargs), pin)
    except BaseException:
        finish_span(span, _config, sys.exc_info())
        raise
    try:
        span.set_tags(connection_tags(conn))
    except Exception:
        _safety.failed("asyncpg")
    finish_span(span, _config)
    return conn


@with_traced_module
async def _traced_protocol_method(module, pin, wrapped, instance, args, kwargs):
    query = None
    try:
        state = args[0] if args else kwargs.get("state")
        query = state if isinstance(state, (str, bytes)) else state.query
        tags = dict(_QUERY_TAGS, **pin.tags) if pin.tags else _QUERY_TAGS
    except Exception:
        _safety.failed("asyncpg")
        return await wrapped(*args, **kwargs)
    span = _start(pin, "postgres.query", query, tags)
    injector = _dbm.injector_for(_config)
    if span is not None and injector is not None and getattr(wrapped, "__name__", "") != "bind_execute_many":
        args = _with_dbm_comment(span, injector, args)
    return await await_in_span(span, _config, wrapped, args, kwargs)


def _with_dbm_comment(span: Any, injector: Any, args: tuple) -> tuple:
    """``args`` with a text statement (first) behind the DBM comment. asyncpg
    passes a prepared statement by keyword (``state=``): as in ddtrace, its
    span is still tagged (``full`` mode) and the statement sent as it is."""
    if args:
        return with_dbm_comment(span, _config, injector, args)
    try:
        _dbm.comment_for(span, _dbm.MODE)
    except Exception:
        _safety.failed("asyncpg")
    return args


def patch() -> None:
    if getattr(asyncpg, "_datadog_patch", False):
        return
    asyncpg._datadog_patch = True
    Pin().onto(asyncpg)
    wrap(asyncpg, "connect", _traced_connect(asyncpg))
    for method in _PROTOCOL_METHODS:
        wrap(asyncpg.protocol, "Protocol." + method, _traced_protocol_method(asyncpg))


def unpatch() -> None:
    if not getattr(asyncpg, "_datadog_patch", False):
        return
    asyncpg._datadog_patch = False
    if iswrapped(asyncpg, "connect"):
        unwrap(asyncpg, "connect")
    for method in _PROTOCOL_METHODS:
        # the wrappers sit on the Python subclass, over BaseProtocol's methods
        if method in asyncpg.protocol.Protocol.__dict__:
            delattr(asyncpg.protocol.Protocol, method)
