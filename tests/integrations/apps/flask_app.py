"""The Flask app of the differential tests, served by gunicorn under either
tracer's ddtrace-run. DOWNSTREAM (env) is the base URL /chain calls with
requests; every view logs one line so log correlation can be checked."""
import logging
import os
import sys

import flask
import requests
from ddtrace import tracer

logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="LOG %(message)s trace_id=%(dd.trace_id)s span_id=%(dd.span_id)s")
log = logging.getLogger("app")
app = flask.Flask(__name__)


@app.route("/users/<int:user_id>")
def user(user_id):
    log.info("user %d", user_id)
    with tracer.trace("lookup", resource="user"):
        pass
    tracer.current_root_span().set_tag("user.id", str(user_id))
    return flask.render_template_string("<p>{{ name }}</p>", name="user%d" % user_id)


@app.route("/error")
def error():
    log.info("about to fail")
    raise ValueError("view failed")


@app.route("/status/<int:code>")
def status(code):
    return flask.Response("status", status=code)


@app.route("/chain")
def chain():
    log.info("calling downstream")
    reply = requests.get(os.environ["DOWNSTREAM"] + "/users/7?token=secret", timeout=10)
    return "downstream said %d" % reply.status_code


@app.route("/headers")
def headers():
    return flask.jsonify({k.lower(): v for k, v in flask.request.headers.items()})


@app.route("/json")
def json_view():
    return flask.jsonify(ok=True)


@app.before_request
def before():
    flask.g.seen = True


def on_request_started(sender, **extra):
    flask.g.started = True


flask.request_started.connect(on_request_started, app)
