"""Queues the tasks of celery_tasks (one at a time, waiting for each
result, so the worker's spans come in a fixed order) and reports what
it got back."""
from celery_tasks import add, fail, flaky

from ddtrace import tracer
from seen import failure, report

seen = []
with tracer.trace("app.celery"):
    seen.append(add.delay(2, 3).get(timeout=60))
    outcome = fail.delay().get(timeout=60, propagate=False)
    seen.append(failure(outcome))
    seen.append(flaky.apply_async().get(timeout=60))
report(seen)
