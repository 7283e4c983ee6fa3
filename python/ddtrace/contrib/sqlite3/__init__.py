"""sqlite3: ``sqlite.query`` spans for every query, service ``sqlite``
(``ddtrace.patch(sqlite3=True)``, on by default under ``ddtrace-run``);
``DD_SQLITE_TRACE_FETCH_METHODS`` traces fetches too."""
from ddtrace.contrib.sqlite3.patch import TracedSQLite, get_version, patch, unpatch  # noqa: F401
