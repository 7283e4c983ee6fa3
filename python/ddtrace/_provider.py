"""The context provider: which span is active, per thread and asyncio task.

The active span lives in a ``contextvars.ContextVar`` owned by the C
extension, exactly as ddtrace's DefaultContextProvider keeps it.
"""
from typing import Optional, Union

from ddtrace import _ctrace
from ddtrace._ctrace import Context, Span


class BaseContextProvider:
    def activate(self, ctx: Optional[Union[Span, Context]]) -> None:
        raise NotImplementedError

    def active(self) -> Optional[Union[Span, Context]]:
        raise NotImplementedError


class DefaultContextProvider(BaseContextProvider):
    """Active span per thread and asyncio task, in a ContextVar."""

    def activate(self, ctx: Optional[Union[Span, Context]]) -> None:
        _ctrace.activate(ctx)

    def active(self) -> Optional[Union[Span, Context]]:
        """The active Span or Context; a finished span gives way to its
        first unfinished ancestor."""
        return _ctrace.active()

    def _update_active(self, span: Span) -> Optional[Span]:
        return _ctrace.active()
