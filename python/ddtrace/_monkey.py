"""Turning integrations on: ``ddtrace.patch(flask=True)``, ``patch_all()``.

An integration is the folder ``ddtrace/contrib/<name>/`` whose ``patch.py``
defines ``patch()``, ``unpatch()`` and ``get_version()``. Patching does not
import the library: it registers a post-import hook (wrapt's
``when_imported``, which is what ddtrace uses too) on each module name the
integration instruments, so the hook runs at once if the library is already
imported and otherwise when the application imports it.

The defaults are ddtrace's (``PATCH_MODULES``): ``ddtrace-run`` patches the
same libraries real ddtrace would. Names ddtrace knows and ctrace has no
folder for are skipped by ``patch_all`` and refused by ``patch`` (as
ddtrace refuses a name it does not know). An integration that fails while
patching is logged, never raised into the program, unless the caller asked
``patch(raise_errors=True)`` explicitly for it.
"""
import importlib
import logging
import os
from pathlib import Path
from typing import Any, Callable, Dict, Set, Union

from wrapt.importer import when_imported

from ddtrace._config import asbool, parse_tags_str

log = logging.getLogger("ddtrace")

_CONTRIB_DIR = Path(__file__).parent / "contrib"

#: ddtrace 4.16's defaults for ``patch_all`` / ``ddtrace-run``.
PATCH_MODULES: Dict[str, bool] = {
    "aiohttp": True, "aiohttp_jinja2": True, "aiomysql": True, "aiopg": True, "aredis": True,
    "asyncio": True, "asyncpg": True, "boto": True, "botocore": True, "bottle": True,
    "celery": True, "consul": True, "django": True, "dogpile_cache": True, "dramatiq": True,
    "elasticsearch": True, "falcon": True, "fastapi": True, "flask": True, "futures": True,
    "gevent": True, "graphql": True, "grpc": True, "httpx": True, "jinja2": True,
    "kafka": True, "logbook": True, "logging": True, "loguru": True, "mako": True,
    "mariadb": True, "molten": True, "mysql": True, "mysqldb": True, "psycopg": True,
    "pylibmc": True, "pymemcache": True, "pymongo": True, "pymysql": True, "pynamodb": True,
    "pyodbc": True, "pyramid": True, "redis": True, "rediscluster": True, "requests": True,
    "rq": True, "sanic": True, "sqlite3": True, "starlette": True, "structlog": True,
    "subprocess": True, "valkey": True, "vertica": True, "yaaredis": True,
    "aiobotocore": False, "httplib": False, "kombu": False, "snowflake": False,
    "sqlalchemy": False,  # ddtrace prefers the DB client's own spans
    "tornado": False, "urllib3": False,
}

#: Module names whose import triggers an integration, where they differ
#: from the integration's name.
_MODULES_FOR_CONTRIB: Dict[str, tuple] = {
    "psycopg": ("psycopg", "psycopg2"),
    "mysqldb": ("MySQLdb",),
    "futures": ("concurrent.futures.thread",),
    "httplib": ("http.client",),
    "dogpile_cache": ("dogpile.cache",),
    "elasticsearch": ("elasticsearch", "elastic_transport", "opensearchpy"),
    "kafka": ("confluent_kafka",),
    "snowflake": ("snowflake.connector",),
    "vertica": ("vertica_python",),
}

_PATCHED_MODULES: Set[str] = set()


class PatchException(Exception):
    """Raised by ``patch(raise_errors=True)`` when an integration fails."""


class ModuleNotFoundException(PatchException):
    """``patch()`` was asked for an integration ctrace does not have."""


def _has_integration(name: str) -> bool:
    folder = _CONTRIB_DIR / name
    return (folder / "patch.py").exists() or (folder / "patch.pyc").exists()


def _integration(name: str):
    return importlib.import_module("ddtrace.contrib.%s.patch" % name)


def _on_import(name: str, raise_errors: bool) -> Callable[[Any], None]:
    def hook(_module: Any) -> None:
        if name not in _PATCHED_MODULES:  # unpatched before the import came
            return
        try:
            _integration(name).patch()
        except Exception as exc:
            if raise_errors:
                raise
            log.error("failed to enable ddtrace support for %s: %s", name, exc, exc_info=True)
    return hook


def patch(raise_errors: bool = True, **patch_modules: Union[bool, list]) -> None:
    """Patch these integrations now or when their library is imported:
    ``patch(flask=True, redis=True)``."""
    for name, wanted in patch_modules.items():
        if not wanted:
            continue
        if not _has_integration(name):
            if raise_errors:
                raise ModuleNotFoundException("%s does not have automatic instrumentation" % name)
            continue
        if name in _PATCHED_MODULES:
            continue  # one hook per integration: patch() runs once
        _PATCHED_MODULES.add(name)
        for module in _MODULES_FOR_CONTRIB.get(name, (name,)):
            when_imported(module)(_on_import(name, raise_errors))
    log.debug("ctrace: integrations configured: %s", ", ".join(sorted(_PATCHED_MODULES)))


def _env_overrides() -> Dict[str, bool]:
    """``DD_TRACE_<NAME>_ENABLED`` for each default, then ``DD_PATCH_MODULES``
    (``flask:false,redis:true``), which wins."""
    overrides: Dict[str, bool] = {}
    for name in PATCH_MODULES:
        raw = os.environ.get("DD_TRACE_%s_ENABLED" % name.upper().replace("-", "_"))
        if raw is not None:
            overrides[name] = asbool(raw)
    for name, value in parse_tags_str(os.environ.get("DD_PATCH_MODULES")).items():
        overrides[name] = asbool(value)
    return overrides


def _patch_all(**patch_modules: bool) -> None:
    """What ``ddtrace-run`` patches: the defaults, the environment's
    overrides, then the arguments'."""
    modules = dict(PATCH_MODULES)
    modules.update(_env_overrides())
    modules.update(patch_modules)
    patch(raise_errors=False, **{name: on for name, on in modules.items() if _has_integration(name)})


def patch_all(**patch_modules: bool) -> None:
    """ddtrace's ``patch_all()`` (deprecated there in favour of
    ``import ddtrace.auto``): patch the default integrations."""
    _patch_all(**patch_modules)


def unpatch(name: str) -> None:
    """Undo one integration (its library keeps working untraced)."""
    if name in _PATCHED_MODULES:
        _PATCHED_MODULES.discard(name)
        _integration(name).unpatch()


def _get_patched_modules() -> Set[str]:
    return set(_PATCHED_MODULES)
