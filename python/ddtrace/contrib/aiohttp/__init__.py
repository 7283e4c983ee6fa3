"""aiohttp: the client is traced by ``ddtrace-run`` or
``patch(aiohttp=True)`` (``aiohttp.request`` spans, headers injected, a
``TCPConnector.connect`` span under each); the server is traced with::

    from ddtrace.contrib.aiohttp import trace_app
    trace_app(app, service="async-api")

Settings: ``app['datadog_trace']['service']`` and
``['distributed_tracing_enabled']``; ``config.aiohttp_client
['distributed_tracing']`` (DD_AIOHTTP_CLIENT_DISTRIBUTED_TRACING) and
``['split_by_domain']`` (DD_AIOHTTP_CLIENT_SPLIT_BY_DOMAIN).
``request['datadog_context']`` is the request span's context."""
from ddtrace.contrib.aiohttp.middlewares import trace_app

__all__ = ["trace_app"]
