"""``ddtrace.config``: the settings integrations read, with ddtrace's names,
environment variables and defaults.

Two levels, as in ddtrace:

- global settings (``config.service``, ``env``, ``version``, ``tags``,
  ``service_mapping``, ``config.http_server.error_statuses``, header tags
  from ``DD_TRACE_HEADER_TAGS``, query-string obfuscation), read once from
  the environment when the module is imported and writable from code;
- one :class:`IntegrationConfig` per integration (``config.flask``), a dict
  with attribute access. It exists as soon as it is read, so users can
  configure an integration before it is patched; the integration's own
  defaults are merged in by ``config._add(name, defaults)`` when it is
  patched, and never overwrite what the user set.

Bad values are reported once in the log and replaced by the default: a
setting never raises into the application.
"""
import logging
import os
import re
from copy import deepcopy
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

log = logging.getLogger("ddtrace")

#: ddtrace's default pattern for secrets in query strings (the value is
#: what ddtrace 4.x ships, so the same URLs are redacted the same way).
_QUERY_STRING_OBFUSCATION_DEFAULT = (
    r"(?i)(?:(?:\"|%22)?)(?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?"
    r"|pass(?:[-_]?phrase)?|secret|(?:api[-_]?|private[-_]?|public[-_]?|access[-_]?"
    r"|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|token|consumer[-_]?(?:id|key|secret)"
    r"|sign(?:ed|ature)?|auth(?:entication|orization)?)(?:(?:\s|%20)*(?:=|%3D)[^&]+"
    r"|(?:\"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:\"|%22)(?:%2[^2]|%[^2]|[^\"%])+(?:\"|%22))"
    r"|(?:bearer(?:\s|%20)+[a-z0-9._\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}"
    r"|(^|[^\w%-]|%[0-9a-f]{2})ey[I-L][\w-]+(?:=|%3D)*\.ey[I-L][\w-]+(?:=|%3D)*"
    r"(?:\.(?:[\w.+/=-]|%3D|%2F|%2B)+)?"
    r"|-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END"
    r"(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY(?:-{5})?(?:\n|%0A)?"
    r"|(?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]"
    r"|%2F|%5C|%2B){100,}(?:=|%3D)*(?:(?:\s|%20|%09)+[a-z0-9._-]+)?)"
)


def asbool(value: Any) -> bool:
    """ddtrace's reading of a boolean setting: "true" and "1" are true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def parse_tags_str(text: Optional[str]) -> Dict[str, str]:
    """``k:v`` pairs separated by commas, or by spaces when there is no
    comma (the agent's and every Datadog tracer's rule); a key without a
    colon gets an empty value."""
    tags: Dict[str, str] = {}
    if not text:
        return tags
    separator = "," if "," in text else " "
    for item in text.split(separator):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(":")
        if key.strip():
            tags[key.strip()] = value.strip()
    return tags


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else asbool(raw)


def normalize_header_name(name: Optional[str]) -> Optional[str]:
    return name.strip().lower() if name is not None else None


def parse_error_ranges(text: str) -> List[Tuple[int, int]]:
    """``"500-599,404"`` as inclusive ranges; a bad item is logged and skipped."""
    ranges = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        low, _, high = item.partition("-")
        try:
            start, end = int(low), int(high or low)
        except ValueError:
            log.warning("Error status codes was not a number %s", item)
            continue
        ranges.append((min(start, end), max(start, end)))
    return ranges


class HttpConfig:
    """Which HTTP headers become tags: ``trace_headers(["user-agent"])``
    tags them as ``http.request.headers.user-agent``; a header mapped to a
    name (``DD_TRACE_HEADER_TAGS=x-id:request.id``) is tagged under it."""

    def __init__(self, header_tags: Optional[Dict[str, str]] = None) -> None:
        self._header_tags: Dict[str, str] = {
            normalize_header_name(k): v for k, v in (header_tags or {}).items() if k.strip()}
        self.trace_query_string: Optional[bool] = None

    def trace_headers(self, whitelist: Union[str, Iterable[str]]) -> Optional["HttpConfig"]:
        if not whitelist:
            return None
        for entry in [whitelist] if isinstance(whitelist, str) else whitelist:
            name = normalize_header_name(entry)
            if name:
                self._header_tags.setdefault(name, "")
        return self

    def _header_tag_name(self, header_name: str) -> Optional[str]:
        if not self._header_tags:
            return None
        return self._header_tags.get(normalize_header_name(header_name))

    def header_is_traced(self, header_name: str) -> bool:
        return self._header_tag_name(header_name) is not None

    @property
    def is_header_tracing_configured(self) -> bool:
        return bool(self._header_tags)

    def _reset(self) -> None:
        self._header_tags = {}

    def __repr__(self) -> str:
        return "<HttpConfig traced_headers=%s trace_query_string=%s>" % (
            list(self._header_tags), self.trace_query_string)


class IntegrationConfig(dict):
    """One integration's settings: ``config.flask["service"]`` and
    ``config.flask.service`` are the same entry. ``DD_<NAME>_SERVICE`` sets
    the service; ``http`` holds the integration's header tags."""

    def __init__(self, global_config: "Config", name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "global_config", global_config)
        object.__setattr__(self, "integration_name", name)
        object.__setattr__(self, "http", HttpConfig())
        service = os.environ.get("DD_%s_SERVICE" % name.upper().replace("-", "_"))
        self.setdefault("service", service)
        self.setdefault("service_name", service)
        self.setdefault("analytics_enabled", False)
        self.setdefault("analytics_sample_rate", 1.0)

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("global_config", "integration_name", "http"):
            object.__setattr__(self, key, value)
        else:
            self[key] = value

    @property
    def trace_query_string(self) -> bool:
        """Whether ``http.query.string`` is tagged (integration, then global)."""
        if self.http.trace_query_string is not None:
            return self.http.trace_query_string
        return bool(self.global_config._http.trace_query_string)

    @property
    def http_tag_query_string(self) -> bool:
        """Whether ``http.url`` keeps its (obfuscated) query string.
        Server integrations follow ``DD_HTTP_SERVER_TAG_QUERY_STRING``;
        clients set ``default_http_tag_query_string`` from
        ``DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING``."""
        if not self.global_config._http_tag_query_string:
            return False
        value = self.get("default_http_tag_query_string") or self.global_config._http_server_tag_query_string
        return str(value).lower() not in ("false", "0")

    @property
    def is_header_tracing_configured(self) -> bool:
        # (the two HttpConfig properties, inline: every request span asks)
        return bool(self.http._header_tags or self.global_config._http._header_tags)

    def _header_tag_name(self, header_name: str) -> Optional[str]:
        name = self.http._header_tag_name(header_name)
        return name if name is not None else self.global_config._header_tag_name(header_name)

    def header_is_traced(self, header_name: str) -> bool:
        return self._header_tag_name(header_name) is not None

    def copy(self) -> "IntegrationConfig":
        twin = IntegrationConfig(self.global_config, self.integration_name)
        twin.update(self)
        return twin

    def __repr__(self) -> str:
        return "ddtrace.IntegrationConfig(%s: %s)" % (self.integration_name, ", ".join(self))


class _HTTPServerConfig:
    """``config.http_server.error_statuses``: which server answers are
    errors (``DD_TRACE_HTTP_SERVER_ERROR_STATUSES``, default 500-599)."""

    def __init__(self) -> None:
        self.error_statuses = os.environ.get("DD_TRACE_HTTP_SERVER_ERROR_STATUSES", "500-599")

    @property
    def error_statuses(self) -> str:
        return self._error_statuses

    @error_statuses.setter
    def error_statuses(self, value: str) -> None:
        self._error_statuses = value
        self._error_ranges = parse_error_ranges(value)

    @property
    def error_ranges(self) -> List[Tuple[int, int]]:
        return self._error_ranges

    def is_error_code(self, status_code: int) -> bool:
        for low, high in self._error_ranges:  # (a loop, not any(): asked once per request)
            if low <= status_code <= high:
                return True
        return False


def _deep_merge(source: Dict[str, Any], destination: Dict[str, Any]) -> Dict[str, Any]:
    """``source`` merged into ``destination``; source's values win."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(destination.get(key), dict):
            _deep_merge(value, destination[key])
        else:
            destination[key] = value
    return destination


class Config:
    """The global settings; one instance, ``ddtrace.config``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_integration_configs", {})
        self.tags = parse_tags_str(os.environ.get("DD_TAGS"))
        self.env = os.environ.get("DD_ENV") or self.tags.get("env")
        self.version = os.environ.get("DD_VERSION") or self.tags.get("version")
        self._user_service = os.environ.get("DD_SERVICE") or self.tags.get("service")
        self.service_mapping = parse_tags_str(os.environ.get("DD_SERVICE_MAPPING", ""))
        self._http = HttpConfig(header_tags=parse_tags_str(os.environ.get("DD_TRACE_HEADER_TAGS")))
        self.http_server = self._http_server = _HTTPServerConfig()
        self._http_client_tag_query_string = os.environ.get("DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING", "true")
        self._http_server_tag_query_string = os.environ.get("DD_HTTP_SERVER_TAG_QUERY_STRING", "true")
        self._dbm_propagation_mode = os.environ.get("DD_DBM_PROPAGATION_MODE", "disabled").strip().lower()
        self._peer_service_defaults = _env_bool("DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED", False)
        self._remove_integration_service_names = _env_bool(
            "DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED", False)
        # ddtrace reads OTEL_SDK_DISABLED=false as enabled when DD_ is unset.
        sdk_disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower()
        self._otel_enabled = _env_bool("DD_TRACE_OTEL_ENABLED", sdk_disabled == "false")
        self._load_query_string_obfuscation()

    def _load_query_string_obfuscation(self) -> None:
        pattern = os.environ.get("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP", _QUERY_STRING_OBFUSCATION_DEFAULT)
        # ddtrace keeps the `key=` part only with its own default pattern.
        self._query_string_obfuscation_preserve_delimiter = pattern == _QUERY_STRING_OBFUSCATION_DEFAULT
        self._global_query_string_obfuscation_disabled = pattern == ""
        self._http_tag_query_string = True
        self._obfuscation_query_string_pattern = None
        try:
            self._obfuscation_query_string_pattern = re.compile(pattern.encode("ascii"))
        except Exception:
            log.warning("Invalid obfuscation pattern, disabling query string tracing", exc_info=True)
            self._http_tag_query_string = False

    # -- the service ------------------------------------------------------------
    @property
    def service(self) -> Optional[str]:
        """DD_SERVICE (or the ``service`` of DD_TAGS), else the service the
        tracer inferred from the program."""
        if self._user_service:
            return self._user_service
        from ddtrace._tracer import tracer
        return tracer._default_service

    @service.setter
    def service(self, value: Optional[str]) -> None:
        self._user_service = value
        if value:
            from ddtrace._tracer import tracer
            tracer._default_service = value

    @property
    def _is_user_provided_service(self) -> bool:
        return bool(self._user_service)

    def _get_service(self, default: Optional[str] = None) -> Optional[str]:
        """The service the user configured, else ``default`` (an
        integration's own name), else the inferred one."""
        if self._user_service:
            return self._user_service
        return default if default is not None else self.service

    # -- headers ------------------------------------------------------------------
    def trace_headers(self, whitelist: Union[str, Iterable[str]]) -> Optional[HttpConfig]:
        """Tag these request/response headers on every integration's spans."""
        return self._http.trace_headers(whitelist)

    def _header_tag_name(self, header_name: str) -> Optional[str]:
        return self._http._header_tag_name(header_name)

    # -- integrations ---------------------------------------------------------------
    def __getattr__(self, name: str) -> IntegrationConfig:
        if name.startswith("__"):
            raise AttributeError(name)
        configs = self._integration_configs
        if name not in configs:
            configs[name] = IntegrationConfig(self, name)
        return configs[name]

    def _add(self, integration: str, settings: Dict[str, Any], merge: bool = True) -> None:
        """Register an integration's defaults. With ``merge``, what the user
        already set wins over the defaults."""
        existing = getattr(self, integration)
        defaults = deepcopy(settings)
        merged = _deep_merge(dict(existing), defaults) if merge else defaults
        fresh = IntegrationConfig(self, integration, merged)
        fresh.http = existing.http
        self._integration_configs[integration] = fresh

    def __repr__(self) -> str:
        return "ddtrace.config(integrations=%s)" % ", ".join(self._integration_configs)


config = Config()
