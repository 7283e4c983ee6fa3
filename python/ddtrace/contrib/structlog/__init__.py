"""Log correlation for ``structlog`` (patched by default, as in ddtrace):
every event dict gets ``dd.trace_id``, ``dd.span_id``, ``dd.service``,
``dd.env`` and ``dd.version`` from a processor put first in the chain."""
