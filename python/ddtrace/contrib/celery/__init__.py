"""Celery: ``celery.apply`` spans where a task is queued (``apply_async``),
``celery.run`` spans where a worker runs it, with retries and failures
flagged. ``DD_CELERY_DISTRIBUTED_TRACING=true`` carries the trace in the
message headers, so a task is a child of what queued it (off by default,
as in ddtrace). ``DD_CELERY_PRODUCER_SERVICE`` / ``DD_CELERY_WORKER_SERVICE``
name the services (default: DD_SERVICE, else celery-producer / celery-worker)."""
from ddtrace.contrib.celery.patch import get_version, patch, patch_app, unpatch, unpatch_app  # noqa: F401
