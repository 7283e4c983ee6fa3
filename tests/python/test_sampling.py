"""Sampling: ctrace's decisions against real ddtrace's (its own virtualenv).

The ddtrace side runs ddtrace's own sampler classes (SamplingRule,
DatadogSampler) on spans with chosen trace ids; the ctrace side runs whole
traces through the tracer with the same configuration. Both print JSON."""
import json
import os
import subprocess
import sys
import textwrap

import msgpack
import pytest

from recording_agent import RecordingAgent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DDTRACE_PYTHON = os.path.join(ROOT, ".venv-ddtrace", "bin", "python")
needs_ddtrace = pytest.mark.skipif(not os.path.exists(DDTRACE_PYTHON),
                                   reason="make peers creates .venv-ddtrace")

RATES = [0.001, 0.1, 0.5, 0.9]
TRACE_IDS = 100_000


def run(code, env=None, python=None, stdin=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    full_env.update({"DD_TRACE_AGENT_URL": "http://127.0.0.1:9", "_CT_IN_MEMORY_WRITER": "1",
                     "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                     "DD_REMOTE_CONFIGURATION_ENABLED": "false"})
    full_env.update(env or {})
    proc = subprocess.run([python or sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def trace_ids(count):
    """Deterministic 64-bit ids (xorshift), so both sides see the same."""
    x, ids = 88172645463325252, []
    for _ in range(count):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        ids.append(x)
    return ids


CTRACE_KEEPS = '''
import json, sys
from ddtrace import tracer, Context
tracer.enabled = False          # decide, but keep nothing in memory
ids = json.loads(sys.stdin.read())
kept = {}
for i, rate in enumerate(%r):
    bits = []
    for tid in ids:
        span = tracer.start_span("op", child_of=Context(trace_id=tid, span_id=1),
                                 service="rate%%d" %% i)
        span.finish()
        bits.append("1" if span.context.sampling_priority > 0 else "0")
    kept[str(rate)] = "".join(bits)
print(json.dumps(kept))
'''

DDTRACE_KEEPS = '''
import json, sys
from types import SimpleNamespace
from ddtrace._trace.sampling_rule import SamplingRule
ids = json.loads(sys.stdin.read())
kept = {}
for rate in %r:
    rule = SamplingRule(sample_rate=rate)
    kept[str(rate)] = "".join("1" if rule.sample(SimpleNamespace(_trace_id_64bits=t)) else "0"
                              for t in ids)
print(json.dumps(kept))
'''


@needs_ddtrace
def test_keeps_exactly_the_trace_ids_ddtrace_keeps():
    ids = json.dumps(trace_ids(TRACE_IDS))
    rules = json.dumps([{"service": "rate%d" % i, "sample_rate": r} for i, r in enumerate(RATES)])
    ours = json.loads(run(CTRACE_KEEPS % (RATES,), stdin=ids,
                          env={"DD_TRACE_SAMPLING_RULES": rules,
                               "DD_TRACE_RATE_LIMIT": "-1"}).stdout)
    theirs = json.loads(run(DDTRACE_KEEPS % (RATES,), stdin=ids, python=DDTRACE_PYTHON).stdout)
    for rate in RATES:
        a, b = ours[str(rate)], theirs[str(rate)]
        assert len(a) == len(b) == TRACE_IDS
        diff = sum(x != y for x, y in zip(a, b))
        assert diff == 0, "rate %s: %d of %d decisions differ" % (rate, diff, TRACE_IDS)
        kept = a.count("1") / TRACE_IDS
        assert abs(kept - rate) < 0.01, (rate, kept)


# Spans and rules exercising globs, case, tags (str and numeric) and order.
RULES = [
    {"sample_rate": 0.0, "service": "web-*", "tags": {"http.status_code": "5??"}},
    {"sample_rate": 1.0, "name": "DB.*", "resource": "select ?"},
    {"sample_rate": 0.5, "tags": {"retries": "3"}},
    {"sample_rate": 0.25, "tags": {"ratio": "*"}},
    {"sample_rate": 0.75, "tags": {"ratio2": "0.*"}},
    {"sample_rate": 1.0, "service": "s?c"},
]
SPANS = [
    ("web-front", "http.request", "GET /", {"http.status_code": "503"}),
    ("web-front", "http.request", "GET /", {"http.status_code": "200"}),
    ("WEB-x", "http.request", "GET /", {"http.status_code": "500"}),
    ("users", "db.query", "SELECT 1", {}),
    ("users", "db.query", "SELECT 10", {}),
    ("jobs", "job", "run", {"retries": 3}),
    ("jobs", "job", "run", {"ratio": 0.5}),
    ("jobs", "job", "run", {"ratio2": 0.5}),
    ("SVC", "x", "y", {}),
    ("none", "x", "y", {}),
]

CTRACE_RULES = '''
import json, msgpack
from ddtrace import tracer
for i, (service, name, resource, tags) in enumerate(%r):
    with tracer.trace(name, service=service, resource=resource) as s:
        for k, v in tags.items():
            s.set_tag(k, v)
payload, _ = tracer._take_payload(4)
out = []
for trace in msgpack.unpackb(payload):
    root = trace[0]
    out.append([root["metrics"]["_sampling_priority_v1"], root["meta"].get("_dd.p.dm"),
                root["metrics"].get("_dd.rule_psr"), root["meta"].get("_dd.p.ksr")])
print(json.dumps(out))
'''

DDTRACE_RULES = '''
import json
from ddtrace._trace.span import Span
from ddtrace._trace.sampler import DatadogSampler
sampler = DatadogSampler()
out = []
for i, (service, name, resource, tags) in enumerate(%r):
    span = Span(name, service=service, resource=resource, trace_id=%d)
    for k, v in tags.items():
        span.set_tag(k, v)
    sampler.sample(span)
    out.append([span.context.sampling_priority, span.context._meta.get("_dd.p.dm"),
                span.get_metric("_dd.rule_psr"), span.get_tag("_dd.p.ksr")])
print(json.dumps(out))
'''


@needs_ddtrace
def test_rules_with_globs_and_tags_match_the_same_spans_as_ddtrace():
    env = {"DD_TRACE_SAMPLING_RULES": json.dumps(RULES), "DD_TRACE_RATE_LIMIT": "-1"}
    # Trace ids differ between the two sides, so compare which rule matched
    # (mechanism, rate, ksr) everywhere and the priority where the id does
    # not matter (rates 0 and 1, no rule); the id's part is tested above.
    ours = json.loads(run(CTRACE_RULES % (SPANS,), env=env).stdout)
    theirs = json.loads(run(DDTRACE_RULES % (SPANS, 12345), env=env, python=DDTRACE_PYTHON).stdout)
    assert len(ours) == len(theirs) == len(SPANS)
    for span, a, b in zip(SPANS, ours, theirs):
        # Which rule matched (its rate) and the mechanism must agree; the
        # keep bit of 0.25/0.5/0.75 rules depends on the id (tested above).
        assert a[1:] == b[1:], (span, a, b)
        if b[2] in (0.0, 1.0) or b[1] == "-0":
            assert a[0] == b[0], (span, a, b)


def test_default_decision_is_auto_keep_with_mechanism_0():
    out = run('''
        import json, msgpack
        from ddtrace import tracer
        with tracer.trace("a"):
            with tracer.trace("b"):
                pass
        (trace,) = msgpack.unpackb(tracer._take_payload(4)[0])
        print(json.dumps([trace[0]["meta"], trace[0]["metrics"], trace[1]["metrics"]]))
    ''').stdout
    meta, metrics, child = json.loads(out)
    assert metrics["_sampling_priority_v1"] == 1 and meta["_dd.p.dm"] == "-0"
    assert "_dd.p.ksr" not in meta and "_dd.rule_psr" not in metrics
    assert "_sampling_priority_v1" not in child


def test_manual_keep_and_drop_override_rules():
    out = run('''
        import json, msgpack
        from ddtrace import tracer
        from ddtrace.constants import MANUAL_KEEP_KEY, MANUAL_DROP_KEY, USER_KEEP, USER_REJECT
        with tracer.trace("kept") as s:
            s.set_tag(MANUAL_KEEP_KEY)
        with tracer.trace("dropped") as s:
            with tracer.trace("child") as c:
                c.set_tag(MANUAL_DROP_KEY)
        traces = msgpack.unpackb(tracer._take_payload(4)[0])
        print(json.dumps([[t[0]["metrics"]["_sampling_priority_v1"], t[0]["meta"]["_dd.p.dm"],
                           "_dd.rule_psr" in t[0]["metrics"]] for t in traces]))
    ''', env={"DD_TRACE_SAMPLE_RATE": "0"}).stdout
    assert json.loads(out) == [[2, "-4", False], [-1, "-4", False]]


def test_remote_priority_is_kept_and_not_resampled():
    out = run('''
        import json, msgpack
        from ddtrace import tracer, Context
        ctx = Context(trace_id=7, span_id=9, sampling_priority=2, meta={"_dd.p.dm": "-3"})
        tracer.start_span("x", child_of=ctx).finish()
        (trace,) = msgpack.unpackb(tracer._take_payload(4)[0])
        print(json.dumps([trace[0]["meta"], trace[0]["metrics"]]))
    ''', env={"DD_TRACE_SAMPLE_RATE": "0"}).stdout
    meta, metrics = json.loads(out)
    assert metrics["_sampling_priority_v1"] == 2
    assert meta["_dd.p.dm"] == "-3"             # the upstream decision maker
    assert "_dd.rule_psr" not in metrics


def test_rate_limit_caps_rule_kept_traces():
    out = run('''
        import json, msgpack
        from ddtrace import tracer
        for _ in range(50):
            tracer.trace("x").finish()
        traces = msgpack.unpackb(tracer._take_payload(4)[0])
        print(json.dumps([t[0]["metrics"].get("_sampling_priority_v1") for t in traces]))
    ''', env={"DD_TRACE_SAMPLE_RATE": "1", "DD_TRACE_RATE_LIMIT": "5"}).stdout
    priorities = json.loads(out)
    assert len(priorities) == 50
    assert 5 <= priorities.count(2) <= 6          # 5 tokens, maybe one refilled
    assert priorities.count(-1) == 50 - priorities.count(2)


def test_agent_rates_decide_when_no_rule_matches():
    with RecordingAgent() as agent:
        agent.rates = {"service:svc,env:prod": 0.5, "service:,env:": 1.0}
        code = '''
            import json
            from ddtrace import tracer, Context
            tracer.trace("warmup").finish()
            tracer.flush(10)                  # the reply carries rate_by_service
            kept = {}
            for tid in %r:
                span = tracer.start_span("op", child_of=Context(trace_id=tid, span_id=1))
                span.finish()
                kept[tid] = span.context.sampling_priority
            tracer.flush(10)
            print(json.dumps(kept))
        '''
        ids = trace_ids(300)
        proc = run(code % (ids,), env={"_CT_IN_MEMORY_WRITER": "0", "DD_SERVICE": "svc",
                                       "DD_ENV": "prod", "DD_TRACE_AGENT_URL": agent.url,
                                       "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.05"})
        kept = {int(k): v for k, v in json.loads(proc.stdout).items()}
        spans = {s["trace_id"]: s for s in agent.wait_for_spans(301) if s["name"] == "op"}
    for tid in ids:
        expected = 1 if (tid * 1111111111111111111) % 2**64 <= 0.5 * (2**64 - 1) else 0
        assert kept[tid] == expected
        span = spans[tid]
        assert span["metrics"]["_sampling_priority_v1"] == expected
        assert span["meta"]["_dd.p.dm"] == "-1" and span["meta"]["_dd.p.ksr"] == "0.5"
        assert span["metrics"]["_dd.agent_psr"] == 0.5


def test_invalid_rules_json_logs_one_line_and_traces_still_flow():
    proc = run('''
        import json, msgpack
        from ddtrace import tracer
        tracer.trace("x").finish()
        (trace,) = msgpack.unpackb(tracer._take_payload(4)[0])
        print(trace[0]["metrics"]["_sampling_priority_v1"])
    ''', env={"DD_TRACE_SAMPLING_RULES": '[{"sample_rate": 0.5,'})
    lines = [l for l in proc.stderr.splitlines() if "DD_TRACE_SAMPLING_RULES" in l]
    assert len(lines) == 1 and "invalid" in lines[0], proc.stderr
    assert proc.stdout.strip() == "1.0"


def test_constants_match_ddtrace():
    from ddtrace import constants
    assert (constants.USER_REJECT, constants.AUTO_REJECT, constants.AUTO_KEEP,
            constants.USER_KEEP) == (-1, 0, 1, 2)
    assert constants.MANUAL_KEEP_KEY == "manual.keep"
    assert constants.MANUAL_DROP_KEY == "manual.drop"
    assert constants.SAMPLING_PRIORITY_KEY == "_sampling_priority_v1"
    if os.path.exists(DDTRACE_PYTHON):
        theirs = json.loads(run('''
            import json, ddtrace.constants as c
            print(json.dumps({k: getattr(c, k) for k in dir(c) if not k.startswith("__")}))
        ''', python=DDTRACE_PYTHON).stdout)
        for name, value in theirs.items():
            if name.startswith("_") and not name.startswith(("_SAMPLING", "_ORIGIN")):
                continue
            assert getattr(constants, name) == value, name


DEFAULT_KEY_SCRIPT = """
    import json
    from ddtrace import tracer
    tracer.trace("warmup").finish()
    tracer.flush()
    import time; time.sleep(0.5)      # the reply carries rate_by_service
    for i in range(20):
        tracer.trace("op").finish()
"""


@needs_ddtrace
def test_the_agents_default_key_is_no_fallback_as_in_ddtrace_4():
    # An agent naming only "service:,env:" decides nothing for service
    # "svc" in ddtrace 4.16: its traces keep the default mechanism (-0)
    # and are all kept; ctrace reads rate_by_service the same way.
    def decisions(python):
        with RecordingAgent() as agent:
            agent.rates = {"service:,env:": 0.0001}
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
            env.update({"DD_SERVICE": "svc", "DD_TRACE_AGENT_URL": agent.url,
                        "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.05",
                        "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                        "DD_REMOTE_CONFIGURATION_ENABLED": "false"})
            subprocess.run([python, "-c", textwrap.dedent(DEFAULT_KEY_SCRIPT)], env=env,
                           check=True, capture_output=True, timeout=60)
            spans = [s for s in agent.wait_for_spans(21) if s["name"] == "op"]
        return sorted((s["meta"].get("_dd.p.dm"), s["metrics"].get("_sampling_priority_v1"))
                      for s in spans)
    theirs, ours = decisions(DDTRACE_PYTHON), decisions(sys.executable)
    assert ours == theirs == [("-0", 1.0)] * 20
