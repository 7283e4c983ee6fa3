"""A small Flask service with no tracing code of its own: run it under
``ddtrace-run`` and every request is a trace (Flask's request, its view,
the sqlite3 queries, logging correlated), as real ddtrace would trace it.

    ddtrace-run python examples/flask_app.py

It serves a few requests to itself through Flask's test client and exits,
so ``make demo`` can show the spans without holding a port.
"""
import logging
import sqlite3

from flask import Flask, abort, jsonify

app = Flask(__name__)
log = logging.getLogger("flask_app")
db = sqlite3.connect(":memory:", check_same_thread=False)
db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
db.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("grace",), ("linus",)])


@app.route("/users/<int:user_id>")
def user(user_id):
    row = db.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        abort(404)
    log.info("found user %s", user_id)
    return jsonify(id=user_id, name=row[0])


if __name__ == "__main__":
    client = app.test_client()
    statuses = [client.get("/users/%d" % n).status_code for n in (1, 2, 3, 42)]
    print("served", statuses)
