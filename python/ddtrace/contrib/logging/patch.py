"""``ddtrace.patch(logging=True)``: ids of the active trace on every
``logging`` record (the work is in ``ddtrace._logs``)."""
from ddtrace import _logs


def get_version() -> str:
    return ""


def patch() -> None:
    _logs.patch()


def unpatch() -> None:
    _logs.unpatch()
