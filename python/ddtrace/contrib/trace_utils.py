"""``ddtrace.contrib.trace_utils``: what every integration shares, written once.

- wrapping: ``wrap``/``unwrap``/``iswrapped`` over wrapt, so a patched
  function keeps its signature, ``inspect`` and pickling work and methods
  still bind (the reason ddtrace uses wrapt too);
- service names: ``int_service`` (work inside the app: web frameworks) and
  ``ext_service`` (work in another system: databases, caches), with
  ddtrace's order of precedence;
- HTTP: ``set_http_meta`` tags method, URL (credentials removed, query
  string obfuscated as ddtrace does), status code (and the server error
  rule), user agent, route, header tags;
- distributed tracing: ``activate_distributed_headers`` on servers,
  ``inject_headers`` on clients, in the configured propagation styles.

Nothing here raises on bad input: a header or URL that cannot be read is
left out of the span.
"""
import logging
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, SupportsIndex, Tuple, Union
from urllib import parse

import wrapt

from ddtrace._config import IntegrationConfig, config
from ddtrace._pin import _PROXY as _PIN_PROXY_TYPE
from ddtrace._pin import Pin
from ddtrace.ext import http, net
from ddtrace.propagation.http import HTTPPropagator, _carries_propagation

log = logging.getLogger("ddtrace")

USER_AGENT_PATTERNS = ("http-user-agent", "user-agent")
REQUEST = "request"
RESPONSE = "response"


# -- wrapping ------------------------------------------------------------------------
class BoundFunctionWrapper(wrapt.BoundFunctionWrapper):
    """wrapt's bound wrapper (``instance.method`` or ``Class.method`` of a
    wrapped method), pickled as Python pickles a method: the attribute of
    its instance, or of its class."""

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        owner = self._self_instance if self._self_instance is not None else self._self_owner
        return getattr, (owner, self.__name__)


class FunctionWrapper(wrapt.FunctionWrapper):
    """wrapt's FunctionWrapper (the patch stays transparent to ``inspect``,
    binds as the function would), pickled by reference as the function it
    wraps: wrapt's own refuses to be pickled at all."""

    __bound_function_wrapper__ = BoundFunctionWrapper

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return self.__qualname__  # a global of self.__module__, as a function


def wrap(module: Any, name: str, wrapper: Callable) -> None:
    """Wrap ``module.<name>`` (a dotted path is followed) with
    ``wrapper(wrapped, instance, args, kwargs)``."""
    wrapt.wrap_object(module, name, FunctionWrapper, (wrapper,))


#: What every wrapt proxy is an instance of. In wrapt 2, FunctionWrapper
#: derives from BaseObjectProxy, not from wrapt.ObjectProxy (a subclass).
PROXY_TYPE = _PIN_PROXY_TYPE


def iswrapped(obj: Any, attr: Optional[str] = None) -> bool:
    if attr is not None:
        obj = getattr(obj, attr, None)
    return isinstance(obj, PROXY_TYPE)


def unwrap(obj: Any, attr: str) -> None:
    """Put back what ``wrap`` replaced; a no-op if ``attr`` is not wrapped."""
    current = getattr(obj, attr, None)
    if isinstance(current, PROXY_TYPE) and hasattr(current, "__wrapped__"):
        setattr(obj, attr, current.__wrapped__)


#: The module attribute saying an integration's patch() has run.
_PATCHED = "_datadog_patch"


def patch_attributes(module: Any, wrappers: Dict[str, Callable]) -> None:
    """Wrap each dotted attribute of ``module`` (``"Client.send"``) with its
    wrapper, once: a second call does nothing. What most ``patch()`` do."""
    if getattr(module, _PATCHED, False):
        return
    setattr(module, _PATCHED, True)
    for path, wrapper in wrappers.items():
        wrap(module, path, wrapper)


def unpatch_attributes(module: Any, paths: Iterable[str]) -> None:
    """Undo ``patch_attributes`` for these dotted attributes."""
    if not getattr(module, _PATCHED, False):
        return
    setattr(module, _PATCHED, False)
    for path in paths:
        owner_path, _, attr = path.rpartition(".")
        owner = module
        for part in owner_path.split(".") if owner_path else ():
            owner = getattr(owner, part)
        unwrap(owner, attr)


def with_traced_module(func: Callable) -> Callable:
    """``func(module, pin, wrapped, instance, args, kwargs)`` as a wrapt
    wrapper bound to ``module``; the call goes straight through when no
    enabled Pin is found on the instance or the module."""
    def with_module(module: Any) -> Callable:
        def wrapper(wrapped, instance, args, kwargs):
            pin = Pin._find(instance, module)
            if pin is None or not pin.enabled():
                return wrapped(*args, **kwargs)
            return func(module, pin, wrapped, instance, args, kwargs)
        return wrapper
    return with_module


# -- service names ------------------------------------------------------------------
def int_service(pin: Optional[Pin], int_config: IntegrationConfig, default: Optional[str] = None) -> Optional[str]:
    """Service of work that is part of the app: the Pin's, the integration's,
    the user's global service, the integration's default, else ``default``."""
    if pin is not None and pin.service:
        return pin.service
    for key in ("service", "service_name"):
        if int_config.get(key) is not None:
            return int_config[key]
    global_config = int_config.global_config
    if global_config._is_user_provided_service:
        return global_config.service
    if int_config.get("_default_service") is not None:
        return int_config["_default_service"]
    if default is None:
        return global_config.service
    return default


def ext_service(pin: Optional[Pin], int_config: IntegrationConfig, default: Optional[str] = None) -> Optional[str]:
    """Service of work in another system (a database, a cache): the Pin's,
    the integration's, its default, else ``default``."""
    if pin is not None and pin.service:
        return pin.service
    for key in ("service", "service_name", "_default_service"):
        if int_config.get(key) is not None:
            return int_config[key]
    return default


def mapped_service(service: Optional[str]) -> Optional[str]:
    """``service`` as ``DD_SERVICE_MAPPING`` renames it: what a span of
    that service is created with (the core tags ``version`` on a span of
    the application's own service only, so the name must be right from
    the start)."""
    return config.service_mapping.get(service, service) if service else service


def set_service_and_source(span: Any, service: Optional[str], int_config: IntegrationConfig,
                           default_service_key: str = "_default_service") -> None:
    """Set ``span.service`` (through ``DD_SERVICE_MAPPING``) and, as ddtrace
    4 does, ``_dd.svc_src``: where the name came from (``opt.service_mapping``,
    ``opt.split_by_domain``, the integration's name for its default, ``m``
    for the user's own service)."""
    service, source = service_and_source(service, int_config, default_service_key)
    if source:
        span.set_tag("_dd.svc_src", source)
    if service:
        span.service = service


def service_and_source(service: Optional[str], int_config: IntegrationConfig,
                       default_service_key: str = "_default_service") -> Tuple[Optional[str], str]:
    """The service ``set_service_and_source`` gives a span and its
    ``_dd.svc_src`` ('' for none), for integrations that pass both when
    they create the span (one call fewer on every query)."""
    source = ""
    mapped = config.service_mapping.get(service, service) if service else service
    if mapped != service:
        source, service = "opt.service_mapping", mapped
    elif int_config.get("split_by_domain", False):
        source = "opt.split_by_domain"
    elif not service or service == int_config.get(default_service_key):
        source = int_config.integration_name
    elif config._is_user_provided_service:
        source = "m"
    return service, source


#: ``dict.get`` itself: on a dict subclass (IntegrationConfig) the bound
#: method is looked up through the type on every call, twice the cost.
_dict_get = dict.get


def ext_service_and_source(int_config: IntegrationConfig) -> Tuple[Optional[str], str]:
    """``service_and_source(ext_service(None, int_config), int_config)``
    in one pass: what a database or cache client's span is created with,
    on every query. Read afresh each time (the user may rename the service
    at any moment), but without the two calls, the loop, the bound ``get``
    methods and the property behind ``_is_user_provided_service``: those
    cost a traced Redis command a sixth of its instructions."""
    get = _dict_get
    default = get(int_config, "_default_service")
    service = get(int_config, "service")
    if service is None:
        service = get(int_config, "service_name")
        if service is None:
            service = default
    mapping = config.service_mapping
    if mapping and service:
        mapped = mapping.get(service, service)
        if mapped != service:
            return mapped, "opt.service_mapping"
    if get(int_config, "split_by_domain", False):
        return service, "opt.split_by_domain"
    if not service or service == default:
        return service, int_config.integration_name
    return service, ("m" if config._user_service else "")


def ext_resolved_service(int_config: IntegrationConfig, service_and_source: Optional[Callable] = None
                         ) -> Tuple[Optional[str], Optional[str], Dict[str, str]]:
    """What the C wrappers of database and cache clients (RedisCommand,
    DbCursorMethod) cache until a setting the service depends on changes:
    (service, the same: ext_service_and_source maps it, the first tags).
    ``service_and_source``: the caller's ``ext_service_and_source``."""
    service, source = (service_and_source or ext_service_and_source)(int_config)
    return service, service, ({"_dd.svc_src": source} if source else {})


def inherit_service_source(span: Any) -> None:
    """``_dd.svc_src`` of a span that took its service from its parent (a
    template render inside a view): the parent's, as ddtrace 4 copies it."""
    parent = getattr(span, "_parent", None)
    source = parent.get_tag("_dd.svc_src") if parent is not None else None
    if source:
        span.set_tag("_dd.svc_src", source)


def distributed_tracing_enabled(int_config: IntegrationConfig, default: bool = False) -> bool:
    for key in ("distributed_tracing_enabled", "distributed_tracing"):
        if int_config.get(key) is not None:
            return bool(int_config[key])
    return default


# -- URLs ----------------------------------------------------------------------------
def _sanitized_url(url: str) -> str:
    """``url`` without the ``user:password@`` of its authority."""
    if "@" not in url:
        return url
    parsed = parse.urlparse(url)
    if "@" not in parsed.netloc:
        return url
    netloc = parsed.netloc[parsed.netloc.index("@") + 1:]
    return parse.urlunparse((parsed.scheme, netloc, parsed.path, "", parsed.query, ""))


def strip_query_string(url: str) -> str:
    head, hash_sign, fragment = url.partition("#")
    base = head.partition("?")[0]
    return base + hash_sign + fragment if fragment else base


def _redact_query(query: Union[str, bytes]) -> bytes:
    raw = query if isinstance(query, bytes) else query.encode("utf-8", "surrogateescape")
    pattern = config._obfuscation_query_string_pattern
    if config._query_string_obfuscation_preserve_delimiter:
        return pattern.sub(lambda m: (m.group(1) or b"") + b"<redacted>", raw)
    return pattern.sub(b"<redacted>", raw)


def _redact_url(url: str, query: Optional[str]) -> str:
    if not query and "?" not in url:
        return url  # nothing to redact: skip urlparse, a third of a request's tagging
    parts = parse.urlparse(url)
    source = query or parts.query
    if not source:
        return url
    redacted = _redact_query(source).decode("utf-8", "surrogateescape")
    rebuilt = parse.urlunparse(parts[:4] + (redacted,) + parts[5:])
    # urlunparse drops a trailing "?" or "#" the original had
    return rebuilt + url[-1] if url[-1:] in ("?", "#") and not rebuilt.endswith(url[-1]) else rebuilt


def _url_tag(integration_config: IntegrationConfig, url: str, query: Optional[str]) -> str:
    if not integration_config.http_tag_query_string:
        return strip_query_string(url)
    if config._global_query_string_obfuscation_disabled:
        return url
    if config._obfuscation_query_string_pattern is None:
        return strip_query_string(url)
    return _redact_url(url, query)


def extract_netloc_and_query_info_from_url(url: str) -> Tuple[str, str]:
    parsed = parse.urlparse(url)
    return parsed.hostname or "", parsed.query


# -- headers -----------------------------------------------------------------------
def _header_value(headers: Mapping[str, Any], name: str, case_sensitive: bool) -> Optional[Any]:
    if not case_sensitive:
        return headers.get(name)
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():
        if key.lower().replace("_", "-") == name:
            return value
    return None


def _get_request_header_user_agent(headers: Mapping[str, Any], headers_are_case_sensitive: bool = False) -> str:
    # the names as ASGI and lowered WSGI headers spell them first: the scan
    # over every header for another spelling is then rarely needed
    for name in USER_AGENT_PATTERNS:
        agent = headers.get(name)
        if agent:
            return agent
    if headers_are_case_sensitive:
        for name in USER_AGENT_PATTERNS:
            agent = _header_value(headers, name, True)
            if agent:
                return agent
    return ""


def _normalize_tag_name(request_or_response: str, header_name: str) -> str:
    """``Content-Type`` -> ``http.request.headers.content-type``: lower
    case, and anything outside ``[a-z0-9_-:/]`` becomes ``_``."""
    name = "".join(c if c.isascii() and (c.isalnum() or c in "_-:/") else "_"
                   for c in header_name.strip().lower())
    return "http.%s.headers.%s" % (request_or_response, name)


def _store_headers(headers: Mapping[str, Any], span: Any, integration_config: IntegrationConfig,
                   request_or_response: str) -> None:
    for name, value in headers.items():
        if not isinstance(name, str):
            continue
        tag = integration_config._header_tag_name(name)
        if tag is None:
            continue
        span.set_tag(tag or _normalize_tag_name(request_or_response, name), value)


# -- HTTP tags -------------------------------------------------------------------------
def set_http_meta(span: Any, integration_config: IntegrationConfig, method: Optional[str] = None,
                  url: Optional[str] = None, target_host: Optional[str] = None,
                  server_address: Optional[str] = None, status_code: Optional[Union[int, str]] = None,
                  status_msg: Optional[str] = None, query: Optional[str] = None,
                  request_headers: Optional[Mapping[str, Any]] = None,
                  response_headers: Optional[Mapping[str, Any]] = None,
                  retries_remain: Optional[Union[int, str]] = None, route: Optional[str] = None,
                  headers_are_case_sensitive: bool = False, peer_ip: Optional[str] = None,
                  **_ignored: Any) -> None:
    """The HTTP tags of a request span, as ddtrace sets them. A status in
    ``config.http_server.error_statuses`` marks a server span as an error
    (clients apply their own rule before calling this)."""
    if method is not None:
        span.set_tag(http.METHOD, method)
    if url is not None:
        span.set_tag(http.URL, _url_tag(integration_config, _sanitized_url(url), query))
    if target_host is not None:
        span.set_tag(net.TARGET_HOST, target_host)
    if server_address is not None:
        span.set_tag(net.SERVER_ADDRESS, server_address)
    if status_code is not None:
        try:
            code = int(status_code)
        except (TypeError, ValueError):
            log.debug("ctrace: HTTP status code %r is not a number", status_code)
        else:
            span.set_tag(http.STATUS_CODE, str(status_code))
            if config._http_server.is_error_code(code):
                span.error = 1
    if status_msg is not None:
        span.set_tag(http.STATUS_MSG, status_msg)
    if query is not None and integration_config.trace_query_string:
        span.set_tag(http.QUERY_STRING, query)
    if request_headers:
        agent = _get_request_header_user_agent(request_headers, headers_are_case_sensitive)
        if agent:
            span.set_tag(http.USER_AGENT, agent)
        if integration_config.is_header_tracing_configured:
            _store_headers(request_headers, span, integration_config, REQUEST)
    if response_headers is not None and integration_config.is_header_tracing_configured:
        _store_headers(response_headers, span, integration_config, RESPONSE)
    if retries_remain is not None:
        span.set_tag(http.RETRIES_REMAIN, str(retries_remain))
    if route is not None:
        span.set_tag(http.ROUTE, route)


def set_flattened_tags(span: Any, items: Any, sep: str = ".", exclude_policy: Optional[Callable] = None,
                       processor: Optional[Callable] = None) -> None:
    """Nested dicts/lists as ``a.b.0`` tags."""
    stack = [(str(k), v) for k, v in (items.items() if isinstance(items, Mapping) else items)]
    while stack:
        key, value = stack.pop()
        if exclude_policy is not None and exclude_policy(key):
            continue
        if isinstance(value, Mapping):
            stack.extend(("%s%s%s" % (key, sep, k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend(("%s%s%d" % (key, sep, i), v) for i, v in enumerate(value))
        else:
            span.set_tag(key, processor(value) if processor is not None else value)


# -- distributed tracing -------------------------------------------------------------
def activate_distributed_headers(tracer: Any, int_config: Optional[IntegrationConfig] = None,
                                 request_headers: Optional[Mapping[str, Any]] = None,
                                 override: Optional[bool] = None) -> None:
    """Make the context of incoming headers the active one (the next span
    is its child), when the integration's ``distributed_tracing`` allows.
    A context of the trace already active (a WSGI middleware under a
    traced framework) is not activated twice."""
    if override is False or not request_headers:
        return
    if not (override or (int_config is not None and distributed_tracing_enabled(int_config))):
        return
    context = HTTPPropagator._extract_carried(request_headers)
    if context is None or not (context.trace_id or context._baggage):
        return
    current = tracer.current_trace_context()
    if current is not None and (not context.trace_id or context.trace_id == current.trace_id):
        return
    tracer.context_provider.activate(context)


def _activate_lowercase_headers(tracer: Any, int_config: IntegrationConfig,
                                request_headers: Dict[str, Any]) -> None:
    """``activate_distributed_headers`` for headers already named in lower
    case (WSGI's once lowered, ASGI's by the spec): a request that carries
    no propagation header, most of them, costs a lookup per style."""
    if request_headers and _carries_propagation(request_headers):
        activate_distributed_headers(tracer, int_config=int_config, request_headers=request_headers)


def inject_headers(span: Any, headers: Dict[str, str]) -> None:
    """Write ``span``'s context into outgoing ``headers`` in every
    configured propagation style."""
    HTTPPropagator.inject(span, headers)  # a Span: sampling is decided first
