"""A bare ASGI app behind ddtrace's TraceMiddleware, served by uvicorn."""
import json

from ddtrace import tracer
from ddtrace.contrib.asgi import TraceMiddleware, span_from_scope


async def raw(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/boom":
        raise KeyError("nope")
    status = 502 if path == "/bad-gateway" else 200
    body = b"hi"
    if path == "/span":
        span = span_from_scope(scope)
        span.set_tag("app.tag", "set-by-app")
        with tracer.trace("inner.work"):
            pass
    elif path == "/ids":
        span = span_from_scope(scope)
        body = json.dumps({"trace_id": span.trace_id, "parent_id": span.parent_id}).encode()
    elif path == "/integration-errors":
        from ddtrace.contrib import _safety
        body = json.dumps(dict(_safety.errors)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body[:1], "more_body": True})
    await send({"type": "http.response.body", "body": body[1:]})


def broken_modifier(span, scope):
    """An integration hook that fails: tracing must not break the app."""
    raise RuntimeError("tracing hook failed")


class Legacy:
    """An ASGI 2 ("double callable") app: the middleware adapts it."""

    def __init__(self, scope):
        self.scope = scope

    async def __call__(self, receive, send):
        await raw(self.scope, receive, send)


app = TraceMiddleware(raw)
legacy_app = TraceMiddleware(Legacy)
broken_app = TraceMiddleware(raw, span_modifier=broken_modifier)
