"""A small web service for the end-to-end test: GET /order on CT_WEB_PORT
queries PostgreSQL (CT_PG_DSN), counts the order in Redis (CT_REDIS_PORT)
and queues a Celery task (celery_tasks.add) for the worker. The request's
span is a manual ``web.request`` root in an http.server handler: the Flask
integration is not on main yet."""
import http.server
import os
import signal
import sys

import psycopg2
import redis
from celery_tasks import add

from ddtrace import tracer

cache = redis.Redis(host="127.0.0.1", port=int(os.environ["CT_REDIS_PORT"]), db=5)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with tracer.trace("web.request", resource="GET /order", span_type="web") as span:
            conn = psycopg2.connect(os.environ["CT_PG_DSN"])
            cur = conn.cursor()
            cur.execute("SELECT 20 + 1")
            price = cur.fetchone()[0]
            conn.close()
            orders = cache.incr("orders")
            add.delay(price, orders)
            span.set_tag("http.status_code", 200)
        body = b"%d" % price
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.HTTPServer(("127.0.0.1", int(os.environ["CT_WEB_PORT"])), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))     # exit hooks run: the tracer flushes
server.serve_forever()
