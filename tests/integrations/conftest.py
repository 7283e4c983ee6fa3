"""pytest setup for the integration tests: each test runs real programs
(scripts, gunicorn, uvicorn...) under real ddtrace and under ctrace in
their own virtualenvs, so nothing here imports ddtrace in-process."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import differential  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def peers_installed():
    """The differential tests need real ddtrace next to ours: `make peers`."""
    if not differential.have_ddtrace():
        pytest.fail("real ddtrace is missing: run `make peers` (make test does)")
