"""mysqlclient (``MySQLdb``): ``mysql.query`` spans, service ``mysql``
(``DD_MYSQLDB_TRACE_FETCH_METHODS``, ``DD_MYSQLDB_TRACE_CONNECT``)."""
from ddtrace.contrib.mysqldb.patch import get_version, patch, unpatch  # noqa: F401
