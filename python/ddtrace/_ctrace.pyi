"""Types of the C extension ``ddtrace._ctrace`` (Span, Context and the C
half of Tracer), so mypy and pyright check user code against ddtrace's
API. Private names (leading underscore) are listed only where our own
Python package uses them."""
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, Type, Union

__version__: str

_TagValue = Any
_Number = Union[int, float]

class Context:
    trace_id: Optional[int]
    span_id: Optional[int]
    sampling_priority: Optional[_Number]
    dd_origin: Optional[str]
    _meta: Dict[str, str]
    _metrics: Dict[str, _Number]
    _baggage: Dict[str, str]
    _is_remote: bool
    def __init__(
        self,
        trace_id: Optional[int] = ...,
        span_id: Optional[int] = ...,
        dd_origin: Optional[str] = ...,
        sampling_priority: Optional[_Number] = ...,
        meta: Optional[Dict[str, str]] = ...,
        metrics: Optional[Dict[str, _Number]] = ...,
        span_links: Optional[List[Any]] = ...,
        baggage: Optional[Dict[str, Any]] = ...,
        is_remote: bool = ...,
    ) -> None: ...
    def set_baggage_item(self, key: str, value: Any) -> None: ...
    def get_baggage_item(self, key: str) -> Optional[Any]: ...
    def get_all_baggage_items(self) -> Dict[str, Any]: ...
    def remove_baggage_item(self, key: str) -> None: ...
    def remove_all_baggage_items(self) -> None: ...

class Span:
    name: str
    service: Optional[str]
    resource: str
    span_type: Optional[str]
    error: int
    start: float
    start_ns: int
    duration: Optional[float]
    duration_ns: Optional[int]
    finished: bool
    parent_id: Optional[int]
    def __init__(
        self,
        name: str,
        service: Optional[str] = ...,
        resource: Optional[str] = ...,
        span_type: Optional[str] = ...,
        trace_id: Optional[int] = ...,
        span_id: Optional[int] = ...,
        parent_id: Optional[int] = ...,
        start: Optional[float] = ...,
        context: Optional["Context"] = ...,
        on_finish: Optional[List[Callable[["Span"], None]]] = ...,
        span_api: str = ...,
        links: Optional[List[Any]] = ...,
    ) -> None: ...
    @property
    def trace_id(self) -> int: ...
    @property
    def span_id(self) -> int: ...
    @property
    def context(self) -> Context: ...
    @property
    def _local_root(self) -> "Span": ...
    def set_tag(self, key: str, value: _TagValue = ...) -> None: ...
    def set_tags(self, tags: Mapping[str, _TagValue]) -> None: ...
    def get_tag(self, key: str) -> Optional[str]: ...
    def get_tags(self) -> Dict[str, str]: ...
    def set_metric(self, key: str, value: _Number) -> None: ...
    def set_metrics(self, metrics: Mapping[str, _Number]) -> None: ...
    def get_metric(self, key: str) -> Optional[_Number]: ...
    def get_metrics(self) -> Dict[str, _Number]: ...
    def set_exc_info(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
        limit: Optional[int] = ...,
    ) -> None: ...
    def record_exception(
        self, exception: BaseException, attributes: Optional[Mapping[str, Any]] = ...
    ) -> None: ...
    def set_link(
        self,
        trace_id: int,
        span_id: int,
        tracestate: Optional[str] = ...,
        flags: Optional[int] = ...,
        attributes: Optional[Mapping[str, Any]] = ...,
    ) -> None: ...
    def link_span(self, context: Context, attributes: Optional[Mapping[str, Any]] = ...) -> None: ...
    def finish(self, finish_time: Optional[float] = ...) -> None: ...
    def __enter__(self) -> "Span": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None: ...
    def _finish_with_ancestors(self) -> None: ...
    def _record_deferred(self) -> None: ...
    def _drop_deferred(self) -> None: ...
    def _segment_state(self) -> Tuple[int, int]: ...

class Tracer:
    enabled: bool
    _default_service: Optional[str]
    _agent_url: Optional[str]
    _finish_hook: Optional[Callable[[Span], Any]]
    def __init__(self, default_service: Optional[str] = ..., lang_version: Optional[str] = ...) -> None: ...
    def trace(
        self,
        name: str,
        service: Optional[str] = ...,
        resource: Optional[str] = ...,
        span_type: Optional[str] = ...,
    ) -> Span: ...
    def start_span(
        self,
        name: str,
        child_of: Optional[Union[Span, Context]] = ...,
        service: Optional[str] = ...,
        resource: Optional[str] = ...,
        span_type: Optional[str] = ...,
        activate: bool = ...,
    ) -> Span: ...
    def current_span(self) -> Optional[Span]: ...
    def current_root_span(self) -> Optional[Span]: ...
    def current_trace_context(self) -> Optional[Context]: ...
    def set_tags(self, tags: Mapping[str, _TagValue]) -> None: ...
    def flush(self, timeout: Optional[float] = ...) -> None: ...
    def _shutdown(self, timeout: Optional[float] = ...) -> None: ...
    def _stats(self) -> Dict[str, int]: ...
    def _take_payload(self, version: int = ...) -> Tuple[bytes, int]: ...

class FunctionWrapper:
    def __init__(self, func: Callable[..., Any], tracer: Tracer, name: str,
                 service: Optional[str] = ..., resource: Optional[str] = ...,
                 span_type: Optional[str] = ...) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

class TracedCall:
    """A wrapt wrapper ``(wrapped, instance, args, kwargs)`` tracing the
    call in a span of an integration (src/python/traced_call.h)."""
    name: str
    def __init__(self, tracer: Tracer, int_config: Dict[str, Any],
                 resolve: Callable[[Any], Tuple[Optional[str], Optional[str], Dict[str, str]]],
                 failed: Callable[[str, Any], Any], name: str, resource: Optional[str] = ...,
                 span_type: Optional[str] = ..., tags: Optional[Dict[str, str]] = ...,
                 origin: Optional[Tuple[Tuple[str, str], ...]] = ...,
                 ignored: Tuple[type, ...] = ...) -> None: ...
    def __call__(self, wrapped: Callable[..., Any], instance: Any, args: Tuple[Any, ...],
                 kwargs: Dict[str, Any]) -> Any: ...

class MappedResult:
    """A wrapt wrapper returning ``map(func, wrapped(*args, **kwargs))``."""
    def __init__(self, func: Callable[[Any], Any]) -> None: ...
    def __call__(self, wrapped: Callable[..., Any], instance: Any, args: Tuple[Any, ...],
                 kwargs: Dict[str, Any]) -> Any: ...

class AsgiMiddleware:
    """An ASGI app tracing the HTTP requests of ``app`` in spans of an
    integration (src/python/asgi.h); the base of contrib/asgi's
    TraceMiddleware. ``helpers`` is the module of its ``_c_*`` slow paths."""
    app: Any
    integration_config: Dict[str, Any]
    handle_exception_span: Optional[Callable[[BaseException, Span], Any]]
    span_modifier: Optional[Callable[[Span, Any], Any]]
    def __init__(self, app: Callable[..., Any], tracer: Tracer, int_config: Dict[str, Any],
                 resolve: Callable[[Any], Tuple[Optional[str], Optional[str], Dict[str, str]]],
                 failed: Callable[[str, Any], Any], helpers: Any,
                 handle_exception_span: Optional[Callable[[BaseException, Span], Any]] = ...,
                 span_modifier: Optional[Callable[[Span, Any], Any]] = ...,
                 route_resolver: Optional[Callable[[Any, Span], Any]] = ...) -> None: ...
    def __call__(self, scope: Any, receive: Callable[..., Any], send: Callable[..., Any]) -> Any: ...

class DbCursorMethod:
    """A DB-API cursor's ``execute``/``executemany``/``callproc`` in C, in
    place of contrib/dbapi's Python method ``wrapped`` in the traced
    cursor's class (src/python/db_cursor.h): it binds like a function, and
    hands what is rare (DBM comments, a disabled tracer) to ``wrapped``."""
    __wrapped__: Callable[..., Any]
    __name__: str
    __qualname__: str
    def __init__(self, tracer: Tracer,
                 resolve: Callable[[Any], Tuple[Optional[str], Optional[str], Dict[str, str]]],
                 failed: Callable[[str, Any], Any], method: str, tags: str,
                 plain_resource_of: Set[Callable[[Any, Any], Any]], returns_proxy: bool,
                 wrapped: Callable[..., Any]) -> None: ...
    def __get__(self, obj: Any, owner: Optional[type] = ...) -> Callable[..., Any]: ...
    def __call__(self, cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any: ...

def activate(ctx: Optional[Union[Span, Context]]) -> None: ...
def active() -> Optional[Union[Span, Context]]: ...
def _set_logger(log: Callable[[str], Any]) -> None: ...
def _after_fork_child() -> None: ...
def __getattr__(name: str) -> Any: ...  # the propagation helpers (_prop_*)

class WsgiResponse:
    """A WSGI app's response iterable (src/python/wsgi_response.h):
    iterating it iterates ``wrapped``; the iteration's end (exhausted, or
    an Exception, recorded on ``response_span``), close() (which calls
    ``wrapped``'s close()) or collection finishes ``response_span`` then
    ``request_span``, once; any other attribute is ``wrapped``'s."""
    def __init__(self, wrapped: Any, request_span: Span, response_span: Span,
                 failed: Callable[[str, Any], Any], integration: str) -> None: ...
    def __iter__(self) -> "WsgiResponse": ...
    def __next__(self) -> Any: ...
    def close(self) -> None: ...
    def __len__(self) -> int: ...

def wsgi_request_headers(environ: Dict[str, Any], as_sent: bool) -> Dict[str, Any]:
    """A WSGI environ's request headers (src/python/wsgi_environ.h): the
    ``HTTP_*`` keys and CONTENT_TYPE / CONTENT_LENGTH, names lowered or,
    with ``as_sent``, spelled as str.title does."""
    ...
