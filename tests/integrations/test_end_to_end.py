"""One request, one trace across processes: a request to a Flask app that
queries PostgreSQL, uses Redis and queues a Celery task, handled by the web
process and a real Celery worker, both under ddtrace-run (which traces
Flask, psycopg2, redis and Celery), gives one connected trace."""
import time
import urllib.request

import data_apps
import differential
import servers


def test_a_request_that_queries_caches_and_queues_is_one_trace_across_web_and_worker(
        postgres_server, redis_server):
    web_port = servers.free_port()
    with differential.RecordingAgent() as agent:
        env = differential.tracer_env(agent, {
            "CT_PG_DSN": postgres_server.dsn, "CT_REDIS_PORT": str(redis_server.port),
            "CT_WEB_PORT": str(web_port), "CT_BROKER_URL": "redis://127.0.0.1:%d/4" % redis_server.port,
            "PYTHONPATH": data_apps.APPS, "DD_CELERY_DISTRIBUTED_TRACING": "true"})
        with data_apps.celery_worker("ctrace", "celery_tasks", env) as worker, \
                data_apps.traced_process("ctrace", ["python", "web_app.py"], env) as web:
            differential.wait_for_port(web_port, web)
            with urllib.request.urlopen("http://127.0.0.1:%d/order" % web_port, timeout=30) as reply:
                assert reply.read() == b"21"
            assert _celery_run_arrived(agent)
        traces = data_apps.joined_by_trace(agent.traces())
    [request] = [t for t in traces if any(s["name"] == "flask.request" for s in t)]
    by_id = {s["span_id"]: s for s in request}
    root = [s for s in request if s["parent_id"] == 0]
    assert [(s["name"], s["resource"]) for s in root] == [("flask.request", "GET /order")]

    def request_span_of(span):      # the flask.request span above a span, through its parents
        while span["parent_id"] in by_id and span["name"] != "flask.request":
            span = by_id[span["parent_id"]]
        return span["name"]
    [query] = [s for s in request if s["name"] == "postgres.query"]
    [apply] = [s for s in request if s["name"] == "celery.apply"]
    [run] = [s for s in request if s["name"] == "celery.run"]
    assert request_span_of(query) == request_span_of(apply) == "flask.request"
    assert by_id[run["parent_id"]] is apply                       # in the worker, same trace
    [count] = [s for s in request if s["resource"] == "INCRBY" and s["metrics"].get("out.redis_db") == 5]
    assert request_span_of(count) == "flask.request"               # the app's own Redis
    pids = {s["name"]: s["metrics"].get("process_id") for s in request if "process_id" in s["metrics"]}
    assert pids["flask.request"] != pids["celery.run"]            # two processes, one trace


def _celery_run_arrived(agent):
    """The worker's celery.run arrived (the worker flushes on its own)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(s["name"] == "celery.run" for s in agent.spans()):
            return True
        time.sleep(0.1)
    return False
