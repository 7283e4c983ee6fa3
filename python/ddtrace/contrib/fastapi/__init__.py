"""FastAPI: ``ddtrace-run`` or ``patch(fastapi=True)`` wraps every app's
middleware stack in the ASGI ``TraceMiddleware`` (``fastapi.request``
spans named by route, ``GET /users/{user_id}``), traces response
serialization (``fastapi.serialize_response``) and ``BackgroundTasks``.
Settings: ``config.fastapi['service']`` (DD_FASTAPI_SERVICE),
``['distributed_tracing']`` (default True)."""
