"""httpx: ``ddtrace-run`` or ``patch(httpx=True)`` traces ``Client.send``
and ``AsyncClient.send`` (every request, redirects and auth included):
an ``http.request`` span of type ``http`` with the URL, status and host,
and the trace's headers injected in every configured propagation style.
Settings: ``config.httpx['distributed_tracing']``
(DD_HTTPX_DISTRIBUTED_TRACING, default True), ``['split_by_domain']``
(DD_HTTPX_SPLIT_BY_DOMAIN: the host:port becomes the service),
``['service']`` (DD_HTTPX_SERVICE)."""
