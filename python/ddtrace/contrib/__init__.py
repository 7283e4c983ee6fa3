"""ctrace's integrations: one folder per instrumented library.

Each ``<name>/patch.py`` defines ``patch()``, ``unpatch()`` and
``get_version()``; ``ddtrace.patch(<name>=True)`` and ``ddtrace-run`` call
them when the library is imported (``ddtrace/_monkey.py``). The helpers
every integration shares (wrapping, service names, HTTP tags, distributed
headers) are in ``trace_utils``; ``_safety`` keeps an integration's own
failures out of the application.
"""
