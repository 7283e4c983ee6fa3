"""Fixtures for ctrace-agent tests: the real binary, a free port, a temp
data directory, real sockets (agent_harness.py has the helpers)."""
import subprocess
import time

import pytest

from agent_harness import Agent


@pytest.fixture
def agent_factory(tmp_path):
    agents = []

    def make(*args, data_dir=None):
        d = data_dir or tmp_path / ('data%d' % len(agents))
        a = Agent(d, args)
        agents.append(a)
        return a.start()

    yield make
    for a in agents:
        if a.proc and a.proc.poll() is None:
            try:
                a.stop()
            except subprocess.TimeoutExpired:
                a.proc.kill()
                a.proc.wait()
        time.sleep(0.05)   # let the drain thread read the last lines
        out = ''.join(a.output)
        # with a sanitizer build (CTRACE_AGENT=build/agent-asan/...) any report fails the test
        for marker in ('AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer'):
            assert marker not in out, out[-4000:]


@pytest.fixture
def agent(agent_factory):
    return agent_factory()
