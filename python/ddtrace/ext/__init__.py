"""``ddtrace.ext``: span types, span kinds and the tag names integrations
use, with ddtrace's names and values (``ddtrace.ext.http.URL`` is
``"http.url"``). Submodules: http, net, db, sql, redis, memcached, kombu,
user."""


class SpanTypes:
    CACHE = "cache"
    CASSANDRA = "cassandra"
    COSMOS = "cosmosdb"
    ELASTICSEARCH = "elasticsearch"
    GRPC = "grpc"
    GRAPHQL = "graphql"
    HTTP = "http"
    MONGODB = "mongodb"
    REDIS = "redis"
    SERVERLESS = "serverless"
    SQL = "sql"
    TEMPLATE = "template"
    TEST = "test"
    WEB = "web"
    WORKER = "worker"
    AUTH = "auth"
    SYSTEM = "system"
    LLM = "llm"
    VALKEY = "valkey"
    WEBSOCKET = "websocket"


class SpanKind:
    CLIENT = "client"
    SERVER = "server"
    PRODUCER = "producer"
    CONSUMER = "consumer"
    INTERNAL = "internal"


class SpanLinkKind:
    """``dd.kind`` of a span link."""
    EXECUTED = "executed_by"
    RESUMING = "resuming"
