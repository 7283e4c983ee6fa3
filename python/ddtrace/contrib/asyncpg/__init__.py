"""asyncpg: ``postgres.connect`` and ``postgres.query`` spans, service
``postgres``, tagged with the server's host, port, database and user."""
from ddtrace.contrib.asyncpg.patch import get_version, patch, unpatch  # noqa: F401
