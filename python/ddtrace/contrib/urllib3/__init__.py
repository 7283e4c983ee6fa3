"""urllib3 (off by default, as in ddtrace: ``ddtrace.patch(urllib3=True)``
or ``DD_TRACE_URLLIB3_ENABLED=true``): a ``urllib3.request`` client span
per ``HTTPConnectionPool.urlopen``, the trace context injected into its
headers (not again under requests, which already did)."""
