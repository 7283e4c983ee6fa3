"""An integration's own failure never breaks the application.

Integrations put ``with guard("flask"):`` (or, on a hot path, ``try:`` ...
``except Exception: failed("flask")``) around their *tracing* code
(building tags, extracting headers, starting spans), never around the
user's call. An exception there is swallowed, counted per integration in
``errors`` and logged once per integration with its traceback, so a bug in
ctrace costs a span or a tag, never a request. ``BaseException`` that is
not an ``Exception`` (KeyboardInterrupt, SystemExit) passes through.
"""
import logging
from collections import Counter
from typing import Any

log = logging.getLogger("ddtrace")

#: Failures of each integration's own code since start-up.
errors: Counter = Counter()


class guard:
    """``with guard("flask"):``: see the module docstring. A class, not a
    generator context manager: integrations enter it several times per
    request, and this costs a third as much."""

    __slots__ = ("integration",)

    def __init__(self, integration: str) -> None:
        self.integration = integration

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or not issubclass(exc_type, Exception):
            return False
        failed(self.integration, (exc_type, exc, tb))
        return True


def failed(integration: str, exc_info: Any = True) -> None:
    """Count (and, the first time, log) a failure of ``integration``'s own
    code: what ``guard`` does, for hot paths that catch it themselves
    (``except Exception: failed("redis")``, the exception being handled,
    or ``failed("flask", sys.exc_info())``) to save the guard's calls."""
    errors[integration] += 1
    if errors[integration] == 1:
        log.warning("ctrace: the %s integration failed; the application goes on "
                    "(later failures are only counted)", integration, exc_info=exc_info)
