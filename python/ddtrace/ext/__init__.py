"""ddtrace.ext: span types and common tag names."""
from enum import Enum


class SpanTypes(str, Enum):
    CACHE = "cache"
    CASSANDRA = "cassandra"
    ELASTICSEARCH = "elasticsearch"
    GRPC = "grpc"
    GRAPHQL = "graphql"
    HTTP = "http"
    MONGODB = "mongodb"
    HTTP_CLIENT = "http"
    REDIS = "redis"
    SQL = "sql"
    TEMPLATE = "template"
    TEST = "test"
    WEB = "web"
    WORKER = "worker"
    LLM = "llm"
    SERVERLESS = "serverless"

    def __str__(self) -> str:
        return self.value


class SpanKind:
    CLIENT = "client"
    SERVER = "server"
    PRODUCER = "producer"
    CONSUMER = "consumer"
    INTERNAL = "internal"
