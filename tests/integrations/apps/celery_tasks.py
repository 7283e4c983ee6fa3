"""The Celery app of the tests: a Redis broker and result backend
(CT_BROKER_URL); a task that succeeds, one that fails, one that retries
once; run by a real worker process (``celery -A celery_tasks worker``)."""
import os

from celery import Celery

app = Celery("celery_tasks", broker=os.environ["CT_BROKER_URL"], backend=os.environ["CT_BROKER_URL"])
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False


@app.task
def add(x, y):
    return x + y


@app.task
def fail():
    raise ValueError("task failed on purpose")


@app.task(bind=True, max_retries=1)
def flaky(self):
    if self.request.retries < 1:
        raise self.retry(exc=RuntimeError("try again"), countdown=0)
    return "ok after a retry"
