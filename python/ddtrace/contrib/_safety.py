"""An integration's own failure never breaks the application.

Integrations put ``with guard("flask"):`` (or, on a hot path, ``try:`` ...
``except Exception: failed("flask")``) around their *tracing* code
(building tags, extracting headers, starting spans), never around the
user's call. An exception there is swallowed, counted per integration in
``errors`` and logged once per integration with its traceback, so a bug in
ctrace costs a span or a tag, never a request. ``BaseException`` that is
not an ``Exception`` (KeyboardInterrupt, SystemExit) passes through.
"""
import contextlib
import logging
from collections import Counter
from typing import Iterator

log = logging.getLogger("ddtrace")

#: Failures of each integration's own code since start-up.
errors: Counter = Counter()


@contextlib.contextmanager
def guard(integration: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        failed(integration)


def failed(integration: str) -> None:
    """Counts (and the first time logs, with its traceback) the exception
    being handled. For code on a hot path, where ``guard``'s generator
    costs more than the tracing itself (a traced query, a cache command):
    ``try: ... except Exception: failed("redis")``."""
    errors[integration] += 1
    if errors[integration] == 1:
        log.warning("ctrace: the %s integration failed; the application goes on "
                    "(later failures are only counted)", integration, exc_info=True)
