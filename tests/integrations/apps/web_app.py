"""A small Flask service for the end-to-end test: GET /order on CT_WEB_PORT
queries PostgreSQL (CT_PG_DSN), counts the order in Redis (CT_REDIS_PORT)
and queues a Celery task (celery_tasks.add) for the worker. Run under
ddtrace-run, which traces Flask, psycopg2, redis and Celery alike."""
import os
import signal
import sys

import psycopg2
import redis
from celery_tasks import add
from flask import Flask

app = Flask(__name__)
cache = redis.Redis(host="127.0.0.1", port=int(os.environ["CT_REDIS_PORT"]), db=5)


@app.route("/order")
def order():
    conn = psycopg2.connect(os.environ["CT_PG_DSN"])
    cur = conn.cursor()
    cur.execute("SELECT 20 + 1")
    price = cur.fetchone()[0]
    conn.close()
    orders = cache.incr("orders")
    add.delay(price, orders)
    return str(price)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))     # exit hooks run: the tracer flushes
app.run(host="127.0.0.1", port=int(os.environ["CT_WEB_PORT"]), threaded=False, use_reloader=False)
