"""PyMySQL: ``pymysql.query`` spans, service ``pymysql``
(``DD_PYMYSQL_TRACE_FETCH_METHODS`` traces fetches)."""
from ddtrace.contrib.pymysql.patch import get_version, patch, unpatch  # noqa: F401
