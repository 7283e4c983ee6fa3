"""A plain WSGI app behind DDWSGIMiddleware, served by gunicorn under
either tracer's ddtrace-run."""
import logging
import sys

from ddtrace import tracer
from ddtrace.contrib.wsgi import DDWSGIMiddleware

logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="LOG %(message)s trace_id=%(dd.trace_id)s span_id=%(dd.span_id)s")
log = logging.getLogger("app")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    log.info("wsgi %s", path)
    if path == "/error":
        raise RuntimeError("wsgi app failed")
    with tracer.trace("work", resource="inner"):
        pass
    status = "503 Service Unavailable" if path == "/unavailable" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"hello ", b"world"]


app = DDWSGIMiddleware(application)
