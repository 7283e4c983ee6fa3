"""Code origin for entry spans, as ddtrace 4 adds it by default
(``DD_CODE_ORIGIN_FOR_SPANS_ENABLED``): the view a web request ran is
named on the request's root span and on the view's own span with
``_dd.code_origin.type: entry`` and ``_dd.code_origin.frames.0.file``,
``.line``, ``.type`` (module) and ``.method`` (qualified name).

``location(view)`` is computed once, when the view is wrapped; ``tag``
costs a few ``set_tag`` per request. Only the first view of a request
tags the root (a view calling another view keeps the outer one).
"""
import inspect
import os
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

ENABLED = os.environ.get("DD_CODE_ORIGIN_FOR_SPANS_ENABLED", "true").strip().lower() in ("true", "1")

Location = Tuple[Tuple[str, str], ...]


def location(view: Callable) -> Optional[Location]:
    """The tags naming ``view``'s code, or None when it has no Python code."""
    if not ENABLED:
        return None
    func = inspect.unwrap(view)
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return (("_dd.code_origin.type", "entry"),
            ("_dd.code_origin.frames.0.file", str(Path(code.co_filename).resolve())),
            ("_dd.code_origin.frames.0.line", str(code.co_firstlineno)),
            ("_dd.code_origin.frames.0.type", str(getattr(func, "__module__", ""))),
            ("_dd.code_origin.frames.0.method", str(getattr(func, "__qualname__", func.__name__))))


def tag(span: Any, root: Any, where: Optional[Location]) -> None:
    if where is None or root is None or root.get_tag("_dd.code_origin.type") == "entry":
        return
    for key, value in where:
        root.set_tag(key, value)
        span.set_tag(key, value)
