"""Celery with a Redis broker and a real worker process, differential
against real ddtrace 4.16: producer (celery.apply) and worker (celery.run)
spans, failures and retries flagged as ddtrace flags them, and with
DD_CELERY_DISTRIBUTED_TRACING one trace across the app and the worker."""
import pytest

import data_apps
import differential

# Values that change from run to run (task ids, the reply queue, the
# producer's pid in its hostname; ddtrace even picks celery.hostname from
# "hostname" or "origin" in a set's hash order): compared by the checks
# below, not field by field.
VOLATILE = {"celery.id", "celery.correlation_id", "celery.reply_to", "celery.hostname"}
# Kept apart on purpose: which chunk of its trace a span is sent in
# (_dd.p.tid marks a chunk's first span; ddtrace sends each producer span
# of this long-running root in a chunk of its own) and ddtrace 4's
# "_dd.svc_src: datadog" on the app's own root span, a tracer matter; the
# integration spans' _dd.svc_src is compared below.
APART = {"_dd.p.tid", "_dd.svc_src"}
# A worker trace that is its own root, after the worker's first flush: the
# recording agent's default rate ("service:,env:") makes ctrace's sampler
# say agent rate ("_dd.p.dm: -1", "_dd.p.ksr") where ddtrace says default
# ("-0"): a sampler difference of the tracers, not of this integration.
ROOT_SAMPLING = {"_dd.p.dm", "_dd.p.ksr"}


def _run(tracer, redis_server, distributed):
    env = {"CT_BROKER_URL": "redis://127.0.0.1:%d/3" % redis_server.port,
           # the broker's and result backend's own Redis and kombu traffic
           # (ctrace has no kombu integration) are not what is compared here
           "DD_TRACE_REDIS_ENABLED": "false", "DD_TRACE_KOMBU_ENABLED": "false",
           "DD_CELERY_DISTRIBUTED_TRACING": "true" if distributed else "false"}
    return data_apps.run_with_worker(tracer, "celery_app.py", "celery_tasks", env=env)


def _svc_src(traces):
    return sorted((s["name"], s["resource"], s["meta"].get("_dd.svc_src"))
                  for s in data_apps.spans(traces) if s["name"].startswith("celery."))


@pytest.mark.parametrize("distributed", [True, False], ids=["distributed", "default"])
def test_celery_span_trees_are_ddtraces_and_the_app_sees_the_same(redis_server, distributed):
    theirs, their_seen = _run("ddtrace", redis_server, distributed)
    ours, our_seen = _run("ctrace", redis_server, distributed)
    assert our_seen == their_seen == ('[5, ["builtins", "ValueError", "task failed on purpose"], '
                                      '"ok after a retry"]')
    differential.assert_same_trees(theirs, ours, ignore_meta=VOLATILE | APART
                                   | (set() if distributed else ROOT_SAMPLING))
    assert _svc_src(ours) == _svc_src(theirs)

    runs = data_apps.spans(ours, "celery.run")
    applies = data_apps.spans(ours, "celery.apply")
    assert [s["resource"] for s in runs] == ["celery_tasks.add", "celery_tasks.fail", "celery_tasks.flaky",
                                             "celery_tasks.flaky"]
    assert [s["meta"]["celery.state"] for s in runs] == ["SUCCESS", "FAILURE", "RETRY", "SUCCESS"]
    failed = runs[1]
    assert failed["error"] == 1 and failed["meta"]["error.type"] == "builtins.ValueError"
    assert failed["meta"]["error.message"] == "task failed on purpose"
    assert runs[2]["meta"]["celery.retry.reason"] == "Retry in 0s: RuntimeError('try again')"
    # the worker ran the very tasks the producer queued
    assert {s["meta"]["celery.id"] for s in applies} == {s["meta"]["celery.id"] for s in runs}
    [app_trace] = [t for t in ours if any(s["name"] == "app.celery" for s in t)]
    if distributed:     # one trace: app -> apply -> run (-> the retry's apply -> run)
        assert len(ours) == 1 and len(app_trace) == 9
        by_id = {s["span_id"]: s for s in app_trace}
        for run in runs:
            assert by_id[run["parent_id"]]["name"] == "celery.apply"
            assert by_id[run["parent_id"]]["meta"]["celery.id"] == run["meta"]["celery.id"]
    else:               # the worker's spans start traces of their own
        assert {s["name"] for s in app_trace} == {"app.celery", "celery.apply"}
        assert all(s["parent_id"] == 0 for s in runs)
