"""``import ddtrace.auto``: what ``ddtrace-run`` does, from inside the program.

Import it first thing in the program. It makes the global tracer (which
reads the ``DD_*`` environment: service, env, version, agent, sampling,
propagation) and, as ddtrace does, patches ``logging`` for log correlation
unless ``DD_LOGS_INJECTION`` turns it off or ``DD_TRACE_ENABLED`` is false.

ctrace does not instrument libraries: web frameworks, database clients and
HTTP clients are not traced automatically. Spans come from the manual API
(``tracer.trace``, ``tracer.wrap``, ...), the OpenTelemetry bridge, and trace context propagated with ``HTTPPropagator``.
"""
from ddtrace import _bootstrap

_bootstrap.install()
