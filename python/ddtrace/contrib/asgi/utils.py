"""Small ASGI helpers: headers of a scope or message as a str dict, and
the ASGI 2 (double callable) to ASGI 3 adapter ddtrace applies."""
import asyncio
import inspect
from typing import Any, Dict, Mapping, Union


def is_double_callable(application: Any) -> bool:
    """An ASGI 2 app: ``app(scope)`` returns ``instance(receive, send)``."""
    if getattr(application, "_asgi_single_callable", False):
        return False
    if getattr(application, "_asgi_double_callable", False):
        return True
    if inspect.isclass(application):
        return True
    if hasattr(application, "__call__") and asyncio.iscoroutinefunction(application.__call__):
        return False
    return not asyncio.iscoroutinefunction(application)


def guarantee_single_callable(application: Any) -> Any:
    if not is_double_callable(application):
        return application

    async def single_callable(scope: Any, receive: Any, send: Any) -> Any:
        return await application(scope)(receive, send)
    return single_callable


def bytes_to_str(value: Union[str, bytes]) -> str:
    """Header bytes as text; bytes that are not UTF-8 are dropped, as ddtrace does."""
    return value.decode(errors="ignore") if isinstance(value, bytes) else value


def extract_headers(scope_or_message: Mapping[str, Any]) -> Dict[str, str]:
    headers = scope_or_message.get("headers")
    if not headers:
        return {}
    # (bytes_to_str inline: a call per name and value of every request; a
    # loop, not a comprehension, which is a frame of its own before 3.12)
    result = {}
    for name, value in headers:
        result[name.decode(errors="ignore") if isinstance(name, bytes) else name] = (
            value.decode(errors="ignore") if isinstance(value, bytes) else value)
    return result
