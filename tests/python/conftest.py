"""pytest setup for the tracer tests (issue 2).

The global tracer reads the environment when ddtrace is first imported, so
the in-memory writer and a dead agent URL are set here, at import time,
before any test module imports ddtrace: completed traces stay in memory for
the tests to read and nothing is ever sent anywhere.
"""
import os
import sys

os.environ["_CT_IN_MEMORY_WRITER"] = "1"
os.environ["DD_TRACE_AGENT_URL"] = "http://127.0.0.1:9"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402


@pytest.fixture
def tracer():
    """The global tracer, drained and with nothing active, before and after
    the test."""
    from ddtrace import tracer as global_tracer
    from helpers import reset_tracer

    reset_tracer(global_tracer)
    yield global_tracer
    reset_tracer(global_tracer)
