"""WSGI: ``DDWSGIMiddleware(app)`` traces any WSGI application with
ddtrace's spans: ``wsgi.request`` (resource ``METHOD PATH_INFO``),
``wsgi.application``, ``wsgi.start_response`` and ``wsgi.response``
(which lasts until the server closes the response iterable)."""
from ddtrace.contrib.wsgi.wsgi import DDWSGIMiddleware, construct_url, get_request_headers

__all__ = ["DDWSGIMiddleware", "construct_url", "get_request_headers"]
