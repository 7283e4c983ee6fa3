"""The ASGI middleware: ``app = TraceMiddleware(app)`` traces every HTTP
request of any ASGI application (``asgi.request`` spans, type ``web``),
continuing the trace of incoming distributed headers. Starlette and
FastAPI put it in front of their apps themselves when patched.

``span_from_scope(scope)`` gives the request span inside the app.
Settings: ``config.asgi['distributed_tracing']`` (default True),
``config.asgi['service_name']`` (DD_SERVICE, else ``asgi``),
``config.asgi['obfuscate_404_resource']`` (DD_ASGI_OBFUSCATE_404_RESOURCE).
"""
from ddtrace.contrib.asgi.middleware import TraceMiddleware, span_from_scope

__all__ = ["TraceMiddleware", "span_from_scope"]
