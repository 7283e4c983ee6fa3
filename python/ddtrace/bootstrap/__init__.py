"""The directory ``ddtrace-run`` puts first on ``PYTHONPATH`` (see
``ddtrace._bootstrap``)."""
