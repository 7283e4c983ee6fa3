"""Ending an integration's span around the user's call, written once.

``ending(integration, span, on_end)`` is the ``try/except/finally`` every
client integration needs: an exception escaping the block is recorded on
the span and re-raised unchanged; ``on_end(result)`` tags the span with
what the block stored in the yielded holder (``holder[0] = response``),
and the span always ends. Tagging runs under the integration's failure
guard, so ctrace's own failure there costs tags, never the call.
"""
import contextlib
import sys
from typing import Any, Callable, Iterator, List

from ddtrace.contrib._safety import guard


@contextlib.contextmanager
def ending(integration: str, span: Any, on_end: Callable[[Any], None]) -> Iterator[List[Any]]:
    holder: List[Any] = [None]
    try:
        yield holder
    except BaseException:
        with guard(integration):
            span.set_exc_info(*sys.exc_info())
        raise
    finally:
        with guard(integration):
            on_end(holder[0])
        span.finish()
