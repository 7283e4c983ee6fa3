"""pymemcache as ddtrace 4.16 traces it: ``pymemcache.client.base.Client``
(and ``hash.Client``, and the clients a ``HashClient`` makes) becomes
``WrappedClient``, a proxy whose commands each get a ``memcached.command``
span tagged with the server's address and, for reads, ``db.row_count``.
``pymemcache.client.hash.HashClient`` becomes ``WrappedHashClient``: its
clients are WrappedClients already, so a command is traced by the client
its key picks; with ``use_pooling`` that client is a ``PooledClient``,
and the single-key commands get a span of the HashClient's own around the
pooled client's (whose clients are WrappedClients too), as in ddtrace 4.16."""
import os
from typing import Any, Callable, Dict

import pymemcache
import pymemcache.client.base
import pymemcache.client.hash
import wrapt

from ddtrace import config
from ddtrace._config import asbool
from ddtrace.contrib import _safety
from ddtrace.contrib.dbapi import MEASURED_KEY, call_in_span, start_span
from ddtrace.ext import SpanKind, SpanTypes, db, net
from ddtrace.ext import memcached as memcachedx

config._add("pymemcache", dict(
    _default_service=memcachedx.SERVICE,
    command_enabled=asbool(os.environ.get("DD_TRACE_MEMCACHED_COMMAND_ENABLED", "false")),
))

#: The settings, held once: ``config.pymemcache`` is found through the
#: global config's Python __getattr__. (What the user sets on it later
#: lands in this same object.)
_config = config.pymemcache

_Client = pymemcache.client.base.Client
_HashClient = pymemcache.client.hash.HashClient
_COMMANDS = ("set", "set_many", "add", "replace", "append", "prepend", "cas", "get", "get_many", "gets",
             "gets_many", "delete", "delete_many", "incr", "decr", "touch", "stats", "version", "flush_all",
             "quit")
_ALIASES = {"set_multi": "set_many", "get_multi": "get_many"}


def get_version() -> str:
    return getattr(pymemcache, "__version__", "")


def _address_tags(args: tuple) -> Dict[str, Any]:
    try:
        host, port = args[0]
        return {net.TARGET_HOST: host, net.TARGET_PORT: port, net.SERVER_ADDRESS: host}
    except Exception:
        return {}


def _keys_text(args: tuple) -> str:
    """The keys a command acts on, space-separated, as ddtrace shows them."""
    if not args:
        return ""
    arg = args[0]
    if type(arg) is dict:
        arg = list(arg)
    if type(arg) is str:
        return arg
    if type(arg) is bytes:
        return arg.decode()
    if type(arg) is list and arg:
        if type(arg[0]) is str:
            return " ".join(arg)
        if type(arg[0]) is bytes:
            return b" ".join(arg).decode()
    return ""


def _row_count(command: str, result: Any) -> Any:
    if command in ("get_many", "gets_many"):
        return sum(1 for doc in result if doc) if result else 0
    if command == "get":
        return 1 if result else 0
    if command == "gets":
        return 1 if result[0] else 0
    return None


def _trace(method: Callable, command: str, tags: Dict[str, Any], args: tuple, kwargs: dict) -> Any:
    cfg = _config
    if cfg["command_enabled"]:
        try:
            keys = _keys_text(args)
            tags = dict(tags, **{memcachedx.QUERY: command + (" " + keys if keys else "")})
        except Exception:
            _safety.failed("pymemcache")
    span = start_span(cfg, memcachedx.CMD, command, SpanTypes.CACHE, tags, born_with_service=False)
    return call_in_span(span, cfg, method, args, kwargs, lambda result: _row_count(command, result))


class WrappedClient(wrapt.ObjectProxy):
    """A pymemcache ``Client`` whose commands are traced."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(_Client(*args, **kwargs))
        self._self_tags = _client_tags(args)


def _client_tags(args: tuple) -> Dict[str, Any]:
    """A client's span tags, its address from its first argument."""
    tags = {"component": "pymemcache", db.SYSTEM: memcachedx.DBMS_NAME, "span.kind": SpanKind.CLIENT,
            MEASURED_KEY: 1}
    tags.update(_address_tags(args))
    return tags


class WrappedHashClient(wrapt.ObjectProxy):
    """A pymemcache ``HashClient`` whose single-key commands are traced
    when the key's client is pooled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(_HashClient(*args, **kwargs))
        self._self_tags = _client_tags(args)

    def _ensure_traced(self, command: str, key: Any, default: Any, args: tuple, kwargs: dict) -> Any:
        hashed = self.__wrapped__
        client = hashed._get_client(key)
        if not isinstance(client, pymemcache.client.base.PooledClient):
            return getattr(hashed, command)(key, *args, **kwargs)
        if client is None:
            return default

        def run(*call_args: Any, **call_kwargs: Any) -> Any:
            # what HashClient._run_cmd does with the client it picked
            return hashed._safely_run_func(client, getattr(client, command), default, *call_args, **call_kwargs)
        return _trace(run, command, self._self_tags, (key,) + args, kwargs)


def _hash_command(command: str, default: Any) -> Callable:
    def traced(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        return self._ensure_traced(command, key, default, args, kwargs)
    traced.__name__ = command
    return traced


for _name, _default in (("set", False), ("add", False), ("replace", False), ("append", False),
                        ("prepend", False), ("cas", False), ("get", None), ("gets", None), ("delete", False),
                        ("incr", False), ("decr", False), ("touch", False)):
    setattr(WrappedHashClient, _name, _hash_command(_name, _default))


def _traced_command(command: str) -> Callable:
    def traced(self, *args: Any, **kwargs: Any) -> Any:
        return _trace(getattr(self.__wrapped__, command), command, self._self_tags, args, kwargs)
    traced.__name__ = command
    return traced


for _name in _COMMANDS:
    setattr(WrappedClient, _name, _traced_command(_name))
for _alias, _command in _ALIASES.items():
    setattr(WrappedClient, _alias, _traced_command(_command))


def patch() -> None:
    if getattr(pymemcache, "_datadog_patch", False):
        return
    pymemcache._datadog_patch = True
    pymemcache.client.base.Client = WrappedClient
    pymemcache.client.hash.Client = WrappedClient
    pymemcache.client.hash.HashClient = WrappedHashClient
    _HashClient.client_class = WrappedClient


def unpatch() -> None:
    if getattr(pymemcache, "_datadog_patch", False):
        pymemcache._datadog_patch = False
        pymemcache.client.base.Client = _Client
        pymemcache.client.hash.Client = _Client
        pymemcache.client.hash.HashClient = _HashClient
        _HashClient.client_class = _Client
