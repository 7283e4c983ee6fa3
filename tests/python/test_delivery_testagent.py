"""Datadog's own validator: ddapm-test-agent, started as a real process,
receives the seed's three instrumentation styles and a mixed workload
(threads, asyncio, errors) over v0.5 and v0.4, and its trace checks must
report no failure."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from delivery_helpers import run_traced

CHECKS = "trace_count_header,meta_tracer_version_header,trace_content_length"

WORKLOAD = '''
import asyncio, threading
from ddtrace import tracer

# the seed's three styles
@tracer.wrap()
def business_logic():
    return 42

business_logic()
with tracer.trace("operations.pertinentes"):
    pass
span = tracer.trace("operations.pertinentes")
span.finish()

# a mixed workload: threads, asyncio tasks, errors, nested spans
def work(t):
    for i in range(20):
        with tracer.trace("thread.op", service="worker", resource="job %d" % i) as s:
            s.set_tag("thread", t)
            with tracer.trace("thread.child", span_type="db"):
                pass

async def task(i):
    with tracer.trace("task.op", resource="task %d" % i):
        await asyncio.sleep(0)
        if i % 5 == 0:
            try:
                with tracer.trace("task.failing"):
                    raise RuntimeError("boom %d" % i)
            except RuntimeError:
                pass

async def main():
    await asyncio.gather(*(task(i) for i in range(50)))

threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for t in threads: t.start()
asyncio.run(main())
for t in threads: t.join()
tracer.flush(5)
'''
EXPECTED_TRACES = 3 + 4 * 20 + 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def test_agent():
    exe = shutil.which("ddapm-test-agent") or os.path.join(os.path.dirname(sys.executable),
                                                           "ddapm-test-agent")
    if not os.path.exists(exe):
        pytest.skip("ddapm-test-agent is not installed (make deps)")
    port = free_port()
    env = dict(os.environ, ENABLED_CHECKS=CHECKS, DD_POOL_TRACE_CHECK_FAILURES="true")
    # The test agent forwards to DD_TRACE_AGENT_URL when it is set (the
    # caller's environment may set it): it must not forward.
    env.pop("DD_TRACE_AGENT_URL", None)
    proc = subprocess.Popen([exe, "--port", str(port), "--pool-trace-check-failures=true",
                             "--otlp-http-port", str(free_port()),
                             "--otlp-grpc-port", str(free_port()),
                             "--web-ui-port", str(free_port())],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if get(url + "/info")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("ddapm-test-agent did not start: %s" % proc.stderr.read().decode())
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("version", ["v0.5", "v0.4"])
def test_ddapm_test_agent_accepts_everything(test_agent, version):
    run_traced(WORKLOAD, test_agent, {"DD_TRACE_API_VERSION": version,
                                      "DD_SERVICE": "seed-app"})
    status, body = get(test_agent + "/test/traces")
    assert status == 200
    traces = json.loads(body)
    assert len(traces) == EXPECTED_TRACES
    errors = [s for t in traces for s in t if s.get("error")]
    assert len(errors) == 10
    status, body = get(test_agent + "/test/trace_check/failures?return_all=true")
    assert status == 200, body.decode()
