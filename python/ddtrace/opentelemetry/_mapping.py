"""An OTel span's Datadog operation name, resource and span type, decided
from its kind and semantic attributes when it ends, as the Datadog agent
maps the OTLP spans it receives (the operation name is also ddtrace's,
which adds no resource or type rules of its own) (datadog-agent pkg/trace/traceutil,
``GetOTelOperationNameV2``, ``GetOTelResourceV2``, ``GetOTelSpanType``).

``tag(key)`` reads a string attribute of the span (None when absent).
Attributes that name the field outright win: ``operation.name``,
``resource.name``, ``span.type``.
"""
from typing import Callable, Optional

from opentelemetry.trace import SpanKind

Tag = Callable[[str], Optional[str]]

_SERVER, _CLIENT = SpanKind.SERVER, SpanKind.CLIENT

_SQL_SYSTEMS = frozenset((
    "other_sql", "mssql", "mysql", "oracle", "db2", "postgresql", "redshift", "cloudscape",
    "hsqldb", "maxdb", "ingres", "firstsql", "edb", "cache", "firebird", "derby", "informix",
    "mariadb", "sqlite", "sybase", "teradata", "vertica", "h2", "coldfusion", "cockroachdb",
    "progress", "hanadb", "adabas", "filemaker", "instantdb", "interbase", "netezza",
    "pervasive", "pointbase", "clickhouse"))
#: db.system -> span type where it is not "sql" or the generic "db".
_DB_TYPES = {"cassandra": "cassandra", "redis": "redis", "memcached": "memcached",
             "mongodb": "mongodb", "elasticsearch": "elasticsearch", "opensearch": "opensearch"}


def _http_method(tag: Tag) -> Optional[str]:
    return tag("http.request.method") or tag("http.method")


def operation_name(kind: SpanKind, tag: Tag) -> str:
    name = tag("operation.name")
    if name:
        return name
    if _http_method(tag) and kind in (_SERVER, _CLIENT):
        return "http.server.request" if kind == _SERVER else "http.client.request"
    if tag("db.system") and kind == _CLIENT:
        return tag("db.system") + ".query"
    system, operation = tag("messaging.system"), tag("messaging.operation")
    if system and operation and kind != SpanKind.INTERNAL:
        return "%s.%s" % (system, operation)
    rpc = tag("rpc.system")
    if rpc and kind == _CLIENT and rpc == "aws-api":
        service = tag("rpc.service")
        return "aws.%s.request" % service if service else "aws.client.request"
    if rpc and kind in (_SERVER, _CLIENT):
        return "%s.%s.request" % (rpc, "server" if kind == _SERVER else "client")
    provider, invoked = tag("faas.invoked_provider"), tag("faas.invoked_name")
    if provider and invoked and kind == _CLIENT:
        return "%s.%s.invoke" % (provider, invoked)
    if tag("faas.trigger") and kind == _SERVER:
        return tag("faas.trigger") + ".invoke"
    if tag("graphql.operation.type"):
        return "graphql.server.request"
    if kind in (_SERVER, _CLIENT):
        side = "server" if kind == _SERVER else "client"
        protocol = tag("network.protocol.name")
        return "%s.%s.request" % (protocol, side) if protocol else side + ".request"
    return kind.name.lower()


def resource(kind: SpanKind, tag: Tag, span_name: str) -> str:
    explicit = tag("resource.name")
    if explicit:
        return explicit
    method = _http_method(tag)
    if method:
        method = "HTTP" if method == "_OTHER" else method
        route = tag("http.route") if kind == _SERVER else None
        return "%s %s" % (method, route) if route else method
    operation = tag("messaging.operation")
    if operation:
        destination = tag("messaging.destination") or tag("messaging.destination.name")
        return "%s %s" % (operation, destination) if destination else operation
    method = tag("rpc.method")
    if method:
        service = tag("rpc.service")
        return "%s %s" % (method, service) if service else method
    operation = tag("graphql.operation.type")
    if operation:
        name = tag("graphql.operation.name")
        return "%s %s" % (operation, name) if name else operation
    if tag("db.system"):
        statement = tag("db.statement") or tag("db.query.text")
        if statement:
            return statement
    return span_name


def span_type(kind: SpanKind, tag: Tag) -> str:
    explicit = tag("span.type")
    if explicit:
        return explicit
    if kind == _SERVER:
        return "web"
    if kind == _CLIENT:
        system = (tag("db.system") or "").lower()
        if not system:
            return "http"
        return "sql" if system in _SQL_SYSTEMS else _DB_TYPES.get(system, "db")
    return "custom"
