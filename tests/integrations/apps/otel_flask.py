"""Flask + opentelemetry-instrumentation-flask through ddtrace's provider."""
from otel_common import load_user

from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor

app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)


@app.route("/users/<int:user_id>")
def user(user_id):
    return load_user(user_id)
