"""redis-py as ddtrace 4.16 traces it: one ``redis.command`` span per
command (``execute_command`` of the sync and asyncio clients) and one per
pipeline ``execute`` (resource and ``redis.raw_command`` the commands one
per line), tagged with the server's host, port and database;
``db.row_count`` for the commands that return rows (GET, MGET, HGETALL...).
Redis Cluster clients (``redis.cluster.RedisCluster`` and its asyncio
twin) likewise, tagged with their first startup node's address.

The client's call is never inside the integration-failure guard: the
application sees the very result or exception redis-py gives, and the span
records the exception.

The synchronous clients' commands (``execute_command``,
``immediate_execute_command``) are traced by ``_ctrace.RedisCommand``, the
whole per-command work in C (src/python/redis_command.h); the Python
functions here do the same for the asyncio clients and the pipelines."""
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import redis

from ddtrace import _ctrace, config
from ddtrace._config import asbool
from ddtrace._tracer import tracer
from ddtrace.contrib import _safety
from ddtrace.contrib._cache_args import CMD_MAX_LEN, VALUE_MAX_LEN, stringify_cache_args
from ddtrace.contrib.dbapi import MEASURED_KEY, call_in_span, finish_span, start_span
from ddtrace.contrib.dbapi_async import await_in_span
from ddtrace.contrib.trace_utils import ext_resolved_service, ext_service_and_source, unwrap, wrap
from ddtrace.ext import SpanKind, SpanTypes, db, net
from ddtrace.ext import redis as redisx

config._add("redis", {
    "_default_service": "redis",
    "cmd_max_length": int(os.environ.get("DD_REDIS_CMD_MAX_LENGTH", CMD_MAX_LEN)),
    "resource_only_command": asbool(os.environ.get("DD_REDIS_RESOURCE_ONLY_COMMAND", "true")),
})

#: The settings, held once: ``config.redis`` is found through the global
#: config's Python __getattr__ on every read, twice per command. (What the
#: user sets on config.redis later lands in this same object.)
_config = config.redis

SINGLE_KEY_COMMANDS = frozenset(["GET", "GETDEL", "GETEX", "GETRANGE", "GETSET", "LINDEX", "LRANGE", "RPOP",
                                 "LPOP", "HGET", "HGETALL", "HKEYS", "HMGET", "HRANDFIELD", "HVALS"])
ROW_RETURNING_COMMANDS = SINGLE_KEY_COMMANDS | {"MGET"}
_EMPTY = (b"", [], {}, None)


def get_version() -> str:
    return getattr(redis, "__version__", "")


def row_count(command: str, result: Any) -> int:
    """Rows a command returned, counted as ddtrace counts them."""
    if result in _EMPTY:
        return 0
    if command == "MGET":
        return len([x for x in result if x not in _EMPTY])
    if command == "HMGET":
        return 1 if any(x not in _EMPTY for x in result) else 0
    return 1


def _connection_tags(instance: Any) -> Dict[str, Any]:
    if not hasattr(instance, "connection_pool") and hasattr(instance, "nodes_manager"):
        return _cluster_tags(instance)
    kwargs = getattr(getattr(instance, "connection_pool", None), "connection_kwargs", None)
    if not kwargs or "host" not in kwargs:
        return {}
    tags = {net.TARGET_HOST: kwargs["host"], net.TARGET_PORT: kwargs.get("port"),
            net.SERVER_ADDRESS: kwargs["host"], redisx.DB: kwargs.get("db") or 0}
    if kwargs.get("client_name"):
        tags[redisx.CLIENT_NAME] = kwargs["client_name"]
    return tags


def _cluster_tags(cluster: Any) -> Dict[str, Any]:
    """A cluster client's address: its first startup node's, database 0,
    as ddtrace tags it (a list of nodes in redis-py 4, a dict from 5; a
    node an object or a dict)."""
    nodes = getattr(getattr(cluster, "nodes_manager", None), "startup_nodes", None)
    if isinstance(nodes, dict):
        first = next(iter(nodes.values()), None)
    else:
        first = nodes[0] if nodes else None
    if not first:
        return {}
    host, port = (first.get("host"), first.get("port")) if isinstance(first, dict) else (first.host, first.port)
    if not host:
        return {}
    return {net.TARGET_HOST: host, net.TARGET_PORT: port, net.SERVER_ADDRESS: host, redisx.DB: 0}


def _client_tags(pool: Any, instance: Any) -> Dict[str, Any]:
    """The tags every span of this client shares, kept on its connection
    pool so they are read once."""
    client_tags = {"span.kind": SpanKind.CLIENT, "component": "redis", db.SYSTEM: redisx.APP, MEASURED_KEY: 1}
    client_tags.update(_connection_tags(instance))
    try:
        pool._ctrace_span_tags = client_tags
    except AttributeError:
        pass            # a pool that takes no attributes: read each time
    return client_tags


def _tags(raw_command: str, instance: Any) -> Dict[str, Any]:
    """A span's tags: the client's and the command's."""
    # kept on the connection pool; a cluster client has none: on itself
    pool = getattr(instance, "connection_pool", instance)
    try:
        client_tags = pool._ctrace_span_tags
    except AttributeError:
        client_tags = _client_tags(pool, instance)
    tags = dict(client_tags)
    tags[redisx.RAWCMD] = raw_command
    return tags


def _command_span(instance: Any, args: tuple) -> Tuple[Optional[Any], str]:
    """The span of a command and the command's name ("" with no span)."""
    # On every command, so written for the fewest bytecodes and calls (each
    # costs a traced GET about 1% of ctrace's cost): try/except, not the
    # guard; the config read by subscript (an IntegrationConfig attribute
    # goes through a Python __getattr__).
    cfg = _config
    try:
        query = stringify_cache_args(args, VALUE_MAX_LEN, cfg["cmd_max_length"])
        command = query.split(" ", 1)[0]
        pool = getattr(instance, "connection_pool", instance)     # _tags, inline: a call fewer
        try:
            tags = dict(pool._ctrace_span_tags)
        except AttributeError:
            tags = dict(_client_tags(pool, instance))
        tags[redisx.RAWCMD] = query
        tags[redisx.ARGS_LEN] = len(args)      # an int: a metric
    except Exception:
        _safety.failed("redis")
        return None, ""
    return start_span(cfg, redisx.CMD, command if cfg["resource_only_command"] else query, SpanTypes.REDIS,
                      tags), command


def _queued_commands(instance: Any, cluster: bool) -> Tuple[List[tuple], bool]:
    """The arguments of each command a pipeline queued, and whether it has
    a command stack (else its span has no ``redis.pipeline_length``).
    Cluster pipelines are read as ddtrace reads them, ``command_stack`` or
    ``_command_stack``: redis-py 6 and later queue elsewhere, so their
    spans show no commands (in ddtrace too)."""
    if not cluster:
        return [command for command, _ in instance.command_stack], True
    for name in ("command_stack", "_command_stack"):
        if hasattr(instance, name):
            return [command.args for command in getattr(instance, name)], True
    return [], False


def _pipeline_span(instance: Any, cluster: bool = False) -> Optional[Any]:
    cfg = _config
    try:
        queued, has_stack = _queued_commands(instance, cluster)
        commands: List[str] = [stringify_cache_args(c, cmd_max_len=cfg["cmd_max_length"]) for c in queued]
        raw = "\n".join(commands)
        resource = "\n".join(c.split(" ", 1)[0] for c in commands) if cfg["resource_only_command"] else raw
        tags = _tags(raw, instance)
        if has_stack:
            tags[redisx.PIPELINE_LEN] = len(queued)
    except Exception:
        _safety.failed("redis")
        return None
    # an empty pipeline: ddtrace's payload carries the span's name instead
    return start_span(cfg, redisx.CMD, resource or redisx.CMD, SpanTypes.REDIS, tags)


def _finish_command(span: Any, command: str, exc_info: Any, result: Any) -> None:
    count = None
    if command in ROW_RETURNING_COMMANDS:
        if exc_info is not None:
            count = 0
        elif result.__class__ is bytes:     # GET's answer, nearly always
            count = 1 if result else 0
        else:
            try:
                count = row_count(command, result)
            except Exception:
                _safety.failed("redis")
    finish_span(span, _config, exc_info, count)


def _traced_in_c(method: Any) -> Any:
    """A synchronous client's command method, traced in C: what takes its
    place in the class (it binds like a function; ``__wrapped__`` is
    ``method``)."""
    return _ctrace.RedisCommand(tracer, _config, ext_resolved_service, _safety.failed, _client_tags, row_count,
                                ROW_RETURNING_COMMANDS, redisx.CMD, SpanTypes.REDIS, method)


def _traced_execute_pipeline(wrapped, instance, args, kwargs):
    return call_in_span(_pipeline_span(instance), _config, wrapped, args, kwargs)


async def _traced_async_execute_command(wrapped, instance, args, kwargs):
    span, command = _command_span(instance, args)
    if span is None:
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException:
        _finish_command(span, command, sys.exc_info(), None)
        raise
    _finish_command(span, command, None, result)
    return result


async def _traced_async_execute_pipeline(wrapped, instance, args, kwargs):
    return await await_in_span(_pipeline_span(instance), _config, wrapped, args, kwargs)


def _traced_execute_cluster_pipeline(wrapped, instance, args, kwargs):
    return call_in_span(_pipeline_span(instance, cluster=True), _config, wrapped, args, kwargs)


async def _traced_async_execute_cluster_pipeline(wrapped, instance, args, kwargs):
    return await await_in_span(_pipeline_span(instance, cluster=True), _config, wrapped, args, kwargs)


def _targets():
    import redis.asyncio.client
    import redis.asyncio.cluster
    import redis.client
    import redis.cluster
    return [(redis.cluster.ClusterPipeline, "execute", _traced_execute_cluster_pipeline),
            (redis.asyncio.cluster.RedisCluster, "execute_command", _traced_async_execute_command),
            (redis.asyncio.cluster.ClusterPipeline, "execute", _traced_async_execute_cluster_pipeline),
            (redis.client.Pipeline, "execute", _traced_execute_pipeline),
            (redis.asyncio.client.Redis, "execute_command", _traced_async_execute_command),
            (redis.asyncio.client.Pipeline, "execute", _traced_async_execute_pipeline),
            (redis.asyncio.client.Pipeline, "immediate_execute_command", _traced_async_execute_command)]


def _c_targets():
    """The methods RedisCommand replaces (the synchronous commands)."""
    import redis.client
    import redis.cluster
    return [(redis.Redis, "execute_command"), (redis.cluster.RedisCluster, "execute_command"),
            (redis.client.Pipeline, "immediate_execute_command")]


def patch() -> None:
    if getattr(redis, "_datadog_patch", False):
        return
    redis._datadog_patch = True
    for owner, name in _c_targets():
        method = owner.__dict__[name]
        if not isinstance(method, _ctrace.RedisCommand):
            setattr(owner, name, _traced_in_c(method))
    for owner, name, wrapper in _targets():
        wrap(owner, name, wrapper)


def unpatch() -> None:
    if getattr(redis, "_datadog_patch", False):
        redis._datadog_patch = False
        for owner, name in _c_targets():
            method = owner.__dict__.get(name)
            if isinstance(method, _ctrace.RedisCommand):
                setattr(owner, name, method.__wrapped__)
        for owner, name, _ in _targets():
            unwrap(owner, name)
