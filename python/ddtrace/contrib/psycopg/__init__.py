"""psycopg2 and psycopg 3 (sync and async): ``postgres.query`` spans,
service ``postgres``, with the server's host, port, database and user
(``ddtrace.patch(psycopg=True)``, on by default under ``ddtrace-run``).
``DD_PSYCOPG_TRACE_FETCH_METHODS`` traces fetches, ``DD_PSYCOPG_TRACE_CONNECT``
connecting."""
from ddtrace.contrib.psycopg.patch import get_version, patch, unpatch  # noqa: F401
