"""Command-line entry points (``ddtrace-run``)."""
