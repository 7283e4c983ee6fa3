"""pytest setup for the tracer tests.

The global tracer reads the environment when ddtrace is first imported, so
the in-memory writer and a dead agent URL are set here, at import time, and
ddtrace is imported at once: completed traces stay in memory for the tests
to read and nothing is ever sent anywhere. The environment is put back
afterwards, so the programs other test folders start in the same pytest
process do not inherit the in-memory writer (scripts these tests start set
it themselves, see tracer_helpers.run_script).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_TEST_SETTINGS = {"_CT_IN_MEMORY_WRITER": "1", "DD_TRACE_AGENT_URL": "http://127.0.0.1:9"}


def _configure_global_tracer():
    if "ddtrace" in sys.modules and not os.environ.get("_CT_IN_MEMORY_WRITER"):
        # a module of another folder, collected first, imported ddtrace at
        # its top: every test here would fail on the real writer instead
        raise RuntimeError("ddtrace was imported before tests/python's conftest: a test "
                           "module outside tests/python imports it at module level "
                           "(move it here, or import inside the test)")
    saved = {name: os.environ.get(name) for name in _TEST_SETTINGS}
    os.environ.update(_TEST_SETTINGS)
    try:
        import ddtrace  # noqa: F401  (configures the global tracer from the above)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_configure_global_tracer()


@pytest.fixture
def tracer():
    """The global tracer, drained and with nothing active, before and after
    the test."""
    from ddtrace import tracer as global_tracer
    from tracer_helpers import reset_tracer

    reset_tracer(global_tracer)
    yield global_tracer
    reset_tracer(global_tracer)
