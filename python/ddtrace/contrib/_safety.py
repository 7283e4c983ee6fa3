"""An integration's own failure never breaks the application.

Integrations put ``with guard("flask"):`` around their *tracing* code
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
        errors[integration] += 1
        if errors[integration] == 1:
            log.warning("ctrace: the %s integration failed; the application goes on "
                        "(later failures are only counted)", integration, exc_info=True)
