"""The Flask app of bench_app.py (gunicorn, one sync worker)."""
from bench_app_common import instrumented, user

from flask import Flask

app = Flask(__name__)


@app.route("/hello")
def hello():
    return "hello"


@app.route("/users/<int:user_id>")
def users(user_id):
    return user(user_id)


instrumented("flask", app)
