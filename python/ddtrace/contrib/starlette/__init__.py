"""Starlette: ``ddtrace-run`` or ``patch(starlette=True)`` puts the ASGI
``TraceMiddleware`` first in every ``Starlette`` app (``starlette.request``
spans named by route: ``GET /users/{user_id:int}``, with ``http.route``)
and traces ``BackgroundTasks`` (``starlette.background_task``, a trace of
their own linked to the request). A mounted sub-app gets a span of its
own under the request's. Settings: ``config.starlette['service']``
(DD_STARLETTE_SERVICE), ``['distributed_tracing']`` (default True)."""
