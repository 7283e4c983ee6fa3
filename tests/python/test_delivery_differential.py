"""Differential: the same script under the real ddtrace (its own virtualenv,
.venv-ddtrace, made by `make peers`) and under ctrace, each against a
recording agent. The decoded traces must agree span for span in name,
service, resource, type, parent structure, error and the set of meta and
metrics keys; ids, times and values such as runtime-id are not compared."""
import os

import pytest

from delivery_helpers import (CTRACE_ONLY_METRICS, DDTRACE_ONLY_META, DDTRACE_ONLY_METRICS,
                              DDTRACE_PYTHON, run_traced)
from recording_agent import RecordingAgent

SCRIPT = '''
import asyncio, threading
from ddtrace import tracer

@tracer.wrap()
def business_logic():
    with tracer.trace("db.query", resource="SELECT 1", span_type="sql") as s:
        s.set_tag("db.system", "postgres")
        s.set_metric("db.rows", 3)

@tracer.wrap(service="async-svc")
async def handler(i):
    with tracer.trace("async.step", resource="step %d" % i):
        await asyncio.sleep(0)

def threaded(n):
    with tracer.trace("thread.op", resource="thread %d" % n) as s:
        s.set_tag("n", n)

business_logic()
try:
    with tracer.trace("web.request", service="web", resource="GET /users", span_type="web") as s:
        s.set_tag("http.method", "GET")
        s.set_tag("http.status_code", "500")
        with tracer.trace("template.render"):
            pass
        raise KeyError("missing")
except KeyError:
    pass
span = tracer.trace("operations.pertinentes")
span.set_tag("unicode", "h\\u00e9llo")
span.set_metric("ratio", 0.5)
span.finish()
async def main():
    await asyncio.gather(*(handler(i) for i in range(3)))
asyncio.run(main())
threads = [threading.Thread(target=threaded, args=(n,)) for n in range(3)]
for t in threads: t.start()
for t in threads: t.join()
tracer.flush()
'''

ENV = {"DD_SERVICE": "diff-app", "DD_ENV": "test", "DD_VERSION": "1.0",
       "DD_TRACE_STARTUP_LOGS": "false", "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
       "DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.05"}


def shape(traces, ignore_meta=frozenset(), ignore_metrics=frozenset()):
    """Traces as comparable, order-independent structures."""
    result = []
    for trace in traces:
        by_id = {s["span_id"]: s for s in trace}
        spans = []
        for s in trace:
            parent = by_id.get(s["parent_id"])
            spans.append((
                s["name"], s["service"], s["resource"], s["type"] or "", s["error"],
                (parent["name"], parent["resource"]) if parent else None,
                tuple(sorted(set(s["meta"]) - ignore_meta)),
                tuple(sorted(set(s["metrics"]) - ignore_metrics)),
            ))
        result.append(tuple(sorted(spans, key=repr)))
    return sorted(result, key=repr)


def record(python, version):
    with RecordingAgent() as agent:
        run_traced(SCRIPT, agent.url, dict(ENV, DD_TRACE_API_VERSION=version), python=python)
        return agent.traces()


@pytest.mark.parametrize("version", ["v0.5", "v0.4"])
def test_ctrace_sends_what_ddtrace_sends(version):
    if not os.path.exists(DDTRACE_PYTHON):
        pytest.skip("the real ddtrace is not installed (make peers)")
    theirs = record(DDTRACE_PYTHON, version)
    ours = record(None, version)
    assert len(ours) == len(theirs) == 9
    expected = shape(theirs, DDTRACE_ONLY_META, DDTRACE_ONLY_METRICS)
    got = shape(ours, ignore_metrics=CTRACE_ONLY_METRICS)
    for mine, real in zip(got, expected):
        assert mine == real
    # the allowances above are real differences, not stale ones
    their_keys = {k for t in theirs for s in t for k in s["meta"]}
    assert DDTRACE_ONLY_META <= their_keys
