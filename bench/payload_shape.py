#!/usr/bin/env python3
"""How heavy is a realistic v0.4 span? The ingest benchmark's payload
(agent_payloads.py) against what real ddtrace (.venv-ddtrace) and ctrace
(.venv) send for the same trace shape: a web request of 10 spans (root,
db, cache and template spans) with the same tags set by the application.

Each tracer runs the same script against a small capturing HTTP server
(v0.4, DD_ENV and DD_VERSION set, DD_SERVICE the root's service); the
table gives bytes per span of the payloads and meta + metrics entries
per span.

    .venv/bin/python bench/payload_shape.py
"""
import http.server
import os
import subprocess
import sys
import threading

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import agent_payloads  # noqa: E402

TRACES = 200
APP = '''
from ddtrace import tracer
SERVICE = "web-store"
for i in range(%d):
    with tracer.trace("flask.request", service=SERVICE, resource="GET /users/?", span_type="web") as root:
        root.set_tag("http.method", "GET")
        root.set_tag("http.route", "/users/?")
        root.set_tag("http.url", "http://shop.example.com/users/%%d" %% i)
        root.set_tag("http.status_code", "200")
        root.set_tag("component", "flask")
        root.set_tag("span.kind", "server")
        for k in range(1, 10):
            name, svc, typ = (("postgres.query", SERVICE + "-db", "sql"), ("redis.command", "redis", "cache"),
                              ("flask.render_template", SERVICE, "template"))[k %% 3]
            resource = ("SELECT * FROM items WHERE id = ?", "GET", "index.html")[k %% 3]
            with tracer.trace(name, service=svc, resource=resource, span_type=typ) as s:
                s.set_tag("component", name.split(".")[0])
                s.set_tag("span.kind", "client")
                s.set_tag("db.system", "postgresql")
                s.set_tag("out.host", "db.internal")
                s.set_metric("db.row_count", k)
tracer.flush()
''' % TRACES


def shape(bodies):
    spans = size = entries = 0
    for body in bodies:
        size += len(body)
        for trace in msgpack.unpackb(body, strict_map_key=False):
            for s in trace:
                spans += 1
                entries += len(s.get('meta') or {}) + len(s.get('metrics') or {})
    return spans, size / max(spans, 1), entries / max(spans, 1)


def capture(python):
    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers['Content-Length']))
            if self.path.endswith('/traces'):
                bodies.append(body)
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.end_headers()
            self.wfile.write(b'{"rate_by_service":{}}')

        do_POST = do_PUT

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, DD_TRACE_AGENT_URL='http://127.0.0.1:%d' % server.server_port,
               DD_TRACE_API_VERSION='v0.4', DD_SERVICE='web-store', DD_ENV='prod',
               DD_VERSION='1.4.2', DD_INSTRUMENTATION_TELEMETRY_ENABLED='false',
               DD_REMOTE_CONFIGURATION_ENABLED='false')
    env.pop('PYTHONPATH', None)
    subprocess.run([python, '-c', APP], env=env, check=True, cwd=ROOT, timeout=120)
    server.shutdown()
    return bodies


def shapes():
    """(name, spans, bytes per span, entries per span) for each tracer found
    and for the benchmark's payload (last)."""
    rows = []
    for name, venv in (('ddtrace (.venv-ddtrace)', '.venv-ddtrace'), ('ctrace (.venv)', '.venv')):
        python = os.path.join(ROOT, venv, 'bin', 'python')
        if not os.path.exists(python):
            print('%s: missing (make peers / make build)' % name)
            continue
        rows.append((name,) + shape(capture(python)))
    tpl = agent_payloads.Template('v0.4', 100)
    rows.append(('benchmark payload',) + shape([tpl.raw]))
    return rows


def main():
    rows = shapes()
    print('%-26s %7s %12s %22s' % ('v0.4 payload of', 'spans', 'B per span', 'meta+metrics per span'))
    for name, spans, per_span, entries in rows:
        print('%-26s %7d %12.0f %22.1f' % (name, spans, per_span, entries))


if __name__ == '__main__':
    main()
