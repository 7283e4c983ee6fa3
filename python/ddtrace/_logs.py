"""Log correlation: ``dd.trace_id``, ``dd.span_id``, ``dd.service``,
``dd.env`` and ``dd.version`` on every ``logging`` record.

What ddtrace 4.16 does, and so what we do (checked side by side):

- A plain ``import ddtrace`` injects nothing. Injection starts with
  ``ddtrace-run``, ``import ddtrace.auto`` or ``ddtrace.patch(logging=True)``.
- Once patched, ``DD_LOGS_INJECTION`` decides: unset, ``true``, ``1`` or
  ``structured`` inject; ``false``, ``0`` or an empty value do not; any other
  value logs one warning and does not.
- ``Logger.makeRecord`` is wrapped (not the record factory, which user code
  often replaces); the five attributes are added after ``extra``, so the
  tracer's values win. ``StrFormatStyle._format`` is wrapped too, so the
  ``{dd.service}`` spelling of ``style="{"`` formats find a ``record.dd``
  object; it is removed again so JSON formatters do not see it.
- The values come from ``tracer.get_log_correlation_context()``: ids "0"
  and strings "" when nothing is active.

structlog, when the application uses it (patched as it is imported, so
an application without it pays nothing): as ddtrace does, a processor that
adds the same five fields (ids "0" when nothing is active) goes first in
the processors given to ``structlog.configure`` and in structlog's default
processors (``get_logger``, ``reset_defaults``).

Patching is idempotent and ``unpatch()`` restores the originals; a failure
while collecting the values never reaches the logging call.
"""
import importlib.abc
import logging
import os
import sys

_ATTRIBUTES = ("dd.trace_id", "dd.span_id", "dd.service", "dd.env", "dd.version")
_originals = {}


def injection_enabled() -> bool:
    """``DD_LOGS_INJECTION`` read as ddtrace reads it (default on)."""
    raw = os.environ.get("DD_LOGS_INJECTION")
    if raw is None:
        return True
    normalized = raw.strip().lower()
    if normalized in ("true", "1", "structured"):
        return True
    if normalized not in ("false", "0", ""):
        logging.warning("Invalid log injection state '%s'. Expected 'true', 'false', "
                        "or 'structured'. Defaulting to 'false'.", normalized)
    return False


def _correlation_values() -> dict:
    from ddtrace._tracer import tracer
    try:
        return tracer.get_log_correlation_context()
    except Exception:  # a log line must never fail because of the tracer
        return {"dd.trace_id": "0", "dd.span_id": "0", "dd.service": "",
                "dd.env": "", "dd.version": ""}


class _RecordIds:
    """``record.dd`` while a ``{``-style format runs: ``{dd.service}``
    reads an attribute of an object named ``dd``."""
    __slots__ = ("trace_id", "span_id", "service", "env", "version")

    def __init__(self, record: logging.LogRecord) -> None:
        self.trace_id = getattr(record, "dd.trace_id", "0")
        self.span_id = getattr(record, "dd.span_id", "0")
        self.service = getattr(record, "dd.service", "")
        self.env = getattr(record, "dd.env", "")
        self.version = getattr(record, "dd.version", "")


def _make_record(original):
    def makeRecord(self, *args, **kwargs):
        record = original(self, *args, **kwargs)
        if _originals.get("enabled"):
            record.__dict__.update(_correlation_values())
        return record
    return makeRecord


def _str_format(original):
    def _format(self, record):
        if not _originals.get("enabled"):
            return original(self, record)
        record.dd = _RecordIds(record)
        try:
            return original(self, record)
        finally:
            del record.dd
    return _format


# -- structlog ---------------------------------------------------------------------

def _structlog_processor(logger, method_name, event_dict):
    """The structlog processor: the correlation fields into the event."""
    if _originals.get("enabled"):
        event_dict.update(_correlation_values())
    return event_dict


def _with_processor(processors):
    """processors with ours first (once); falsy stays as it is, as ddtrace."""
    if not processors:
        return processors
    processors = list(processors)
    return processors if _structlog_processor in processors else [_structlog_processor] + processors


def _ensure_default_processors(structlog) -> None:
    config = structlog._config._CONFIG
    config.default_processors = _with_processor(config.default_processors)


def _patch_structlog(structlog) -> None:
    if "structlog" in _originals:
        return
    originals = {name: getattr(structlog, name) for name in
                 ("configure", "get_logger", "getLogger", "reset_defaults") if hasattr(structlog, name)}
    _originals["structlog"] = (structlog, originals)

    def configure(*args, **kwargs):
        if args:
            args = (_with_processor(args[0]),) + args[1:]
        elif "processors" in kwargs:
            kwargs["processors"] = _with_processor(kwargs["processors"])
        return originals["configure"](*args, **kwargs)

    def logger_getter(original):
        def get_logger(*args, **kwargs):
            _ensure_default_processors(structlog)
            return original(*args, **kwargs)
        return get_logger

    def reset_defaults():
        originals["reset_defaults"]()
        _ensure_default_processors(structlog)

    wrappers = {"configure": configure, "reset_defaults": reset_defaults}
    for name in ("get_logger", "getLogger"):
        if name in originals:
            wrappers[name] = logger_getter(originals[name])
    for name, wrapper in wrappers.items():
        if name in originals:
            setattr(structlog, name, wrapper)


class _StructlogImportHook(importlib.abc.MetaPathFinder):
    """Patches structlog right after it is first imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "structlog":
            return None
        sys.meta_path.remove(self)  # find the real spec, once
        try:
            import importlib.util
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader

        class PatchingLoader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                try:
                    _patch_structlog(module)
                except Exception:  # never break the application's import
                    logging.getLogger("ddtrace").debug("structlog patch failed", exc_info=True)

        spec.loader = PatchingLoader()
        return spec


_HOOK = _StructlogImportHook()


def _patch_structlog_when_imported() -> None:
    structlog = sys.modules.get("structlog")
    if structlog is not None:
        _patch_structlog(structlog)
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)


def _unpatch_structlog() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)
    structlog, originals = _originals.pop("structlog", (None, {}))
    for name, original in originals.items():
        setattr(structlog, name, original)
    if structlog is not None:
        config = structlog._config._CONFIG
        config.default_processors = [p for p in config.default_processors
                                     if p is not _structlog_processor]


def patch() -> None:
    """Start injecting (if ``DD_LOGS_INJECTION`` allows). Idempotent."""
    if "makeRecord" in _originals:
        return
    _originals["enabled"] = injection_enabled()
    _originals["makeRecord"] = logging.Logger.makeRecord
    _originals["_format"] = logging.StrFormatStyle._format
    logging.Logger.makeRecord = _make_record(_originals["makeRecord"])
    logging.StrFormatStyle._format = _str_format(_originals["_format"])
    _patch_structlog_when_imported()


def unpatch() -> None:
    """Restore ``logging`` (and structlog) as before ``patch()``."""
    if "makeRecord" not in _originals:
        return
    logging.Logger.makeRecord = _originals.pop("makeRecord")
    logging.StrFormatStyle._format = _originals.pop("_format")
    _originals.pop("enabled", None)
    _unpatch_structlog()


def is_patched() -> bool:
    return "makeRecord" in _originals
