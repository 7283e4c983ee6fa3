"""Trace processors: ``TraceFilter`` as in ddtrace."""
import abc
from typing import List, Optional

from ddtrace._ctrace import Span


class TraceFilter(abc.ABC):
    """Subclass and implement ``process_trace``; return the spans to keep,
    or None (or an empty list) to drop the whole trace."""

    @abc.abstractmethod
    def process_trace(self, trace: List[Span]) -> Optional[List[Span]]:
        ...
