"""SQLAlchemy: a ``<vendor>.query`` span per statement an engine executes
(engine events). Off by default under ``ddtrace-run``, as in ddtrace: the
driver's own integration already traces each query, and with both on every
query has two spans (the engine's, and the driver's inside it).
``ddtrace.patch(sqlalchemy=True)`` or ``trace_engine(engine, service=...)``
turns it on."""
from ddtrace.contrib.sqlalchemy.patch import get_version, patch, trace_engine, unpatch  # noqa: F401
