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

Patching is idempotent and ``unpatch()`` restores the originals; a failure
while collecting the values never reaches the logging call.
"""
import logging
import os

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


def patch() -> None:
    """Start injecting (if ``DD_LOGS_INJECTION`` allows). Idempotent."""
    if "makeRecord" in _originals:
        return
    _originals["enabled"] = injection_enabled()
    _originals["makeRecord"] = logging.Logger.makeRecord
    _originals["_format"] = logging.StrFormatStyle._format
    logging.Logger.makeRecord = _make_record(_originals["makeRecord"])
    logging.StrFormatStyle._format = _str_format(_originals["_format"])


def unpatch() -> None:
    """Restore ``logging`` as it was before ``patch()``."""
    if "makeRecord" not in _originals:
        return
    logging.Logger.makeRecord = _originals.pop("makeRecord")
    logging.StrFormatStyle._format = _originals.pop("_format")
    _originals.pop("enabled", None)


def is_patched() -> bool:
    return "makeRecord" in _originals
