"""concurrent.futures: with ``ddtrace-run`` or ``patch(futures=True)``,
work submitted to a ``ThreadPoolExecutor`` (``submit``, ``map``,
``loop.run_in_executor``) runs with the submitter's active span, so the
spans it makes are children of that span, in the same trace."""
