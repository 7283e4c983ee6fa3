"""Propagation: headers injected by ctrace extract to the same context under
real ddtrace (its own virtualenv) and the other way round, for every
style; malformed headers never raise and never give a half-valid context.

One script runs on both sides: it gets cases as JSON on stdin, sets the
propagation styles the way its tracer allows, and prints JSON."""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DDTRACE_PYTHON = os.path.join(ROOT, ".venv-ddtrace", "bin", "python")
needs_ddtrace = pytest.mark.skipif(not os.path.exists(DDTRACE_PYTHON),
                                   reason="make peers creates .venv-ddtrace")

STYLES = ["datadog", "tracecontext", "b3multi", "b3", "baggage",
          "datadog,tracecontext,baggage"]

SCRIPT = r'''
import json, sys
import ddtrace
from ddtrace.propagation.http import HTTPPropagator
from ddtrace.trace import Context

def set_styles(styles):
    styles = styles.split(",")
    if getattr(ddtrace, "__ctrace__", False):
        from ddtrace.propagation import http
        http.config.inject = http.config.extract = styles
    else:
        ddtrace.config._propagation_style_inject = styles
        ddtrace.config._propagation_style_extract = styles

def summary(ctx):
    meta = ctx._meta
    return {"trace_id": ctx.trace_id, "span_id": ctx.span_id,
            "priority": ctx.sampling_priority, "origin": ctx.dd_origin,
            "tags": {k: v for k, v in meta.items() if k.startswith("_dd.p.")},
            "parent": meta.get("_dd.parent_id"), "error": meta.get("_dd.propagation_error"),
            "baggage": ctx.get_all_baggage_items()}

job = json.load(sys.stdin)
out = []
for styles, cases in job["cases"].items():
    set_styles(styles)
    for case in cases:
        if job["mode"] == "inject":
            headers = {}
            HTTPPropagator.inject(Context(**case), headers)
            out.append(headers)
        else:
            out.append(summary(HTTPPropagator.extract(case)))
print(json.dumps(out))
'''


def run(python, mode, cases):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    env.update({"_CT_IN_MEMORY_WRITER": "1", "DD_TRACE_AGENT_URL": "http://127.0.0.1:9",
                "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                "DD_REMOTE_CONFIGURATION_ENABLED": "false"})
    proc = subprocess.run([python, "-c", SCRIPT], input=json.dumps({"mode": mode, "cases": cases}),
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


HIGH = 0x640CFD8D00000000
CONTEXTS = [
    dict(trace_id=12345, span_id=678),
    dict(trace_id=(HIGH << 64) | 2**63 + 7, span_id=2**64 - 1, sampling_priority=2,
         dd_origin="synthetics", meta={"_dd.p.dm": "-4", "_dd.p.usr.id": "baz64"},
         baggage={"user id": "a,b=c é", "k": "v"}),
    dict(trace_id=1, span_id=1, sampling_priority=-1, meta={"_dd.p.dm": "-3"}),
    dict(trace_id=99, span_id=5, sampling_priority=0, dd_origin="rum"),
    dict(trace_id=98, span_id=6, sampling_priority=1, meta={"_dd.p.big": "x" * 600}),
]

MALFORMED = [
    {"x-datadog-trace-id": "abc", "x-datadog-parent-id": "5"},
    {"x-datadog-trace-id": "0", "x-datadog-parent-id": "5"},
    {"x-datadog-trace-id": "18446744073709551616", "x-datadog-parent-id": "5"},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "x"},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "5", "x-datadog-sampling-priority": "high"},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "5", "x-datadog-tags": "_dd.p.dm=-4,garbage"},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "5", "x-datadog-tags": "_dd.p.x=" + "y" * 600},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "5", "x-datadog-tags": "_dd.p.tid=XYZ"},
    {"x-datadog-trace-id": "7", "x-datadog-parent-id": "5", "x-datadog-tags": "_dd.p.dm=bad"},
    {"X-Datadog-Trace-Id": "7", "x-datadog-trace-id": "8", "x-datadog-parent-id": "5"},
    {"traceparent": "00-0000000000000000000000000000000g-00000000000001c8-01"},
    {"traceparent": "00-00000000000000000000000000000000-00000000000001c8-01"},
    {"traceparent": "00-0000000000000000000000000000007b-0000000000000000-01"},
    {"traceparent": "ff-0000000000000000000000000000007b-00000000000001c8-01"},
    {"traceparent": "00-0000000000000000000000000000007b-00000000000001c8-01-extra"},
    {"traceparent": "01-0000000000000000000000000000007b-00000000000001c8-01-extra"},
    {"traceparent": "00-0000000000000000000000000000007B-00000000000001c8-01"},
    {"traceparent": "00-0000000000000000000000000000007b-00000000000001c8-01",
     "tracestate": "dd=s:x;o:rum,other=1"},
    {"traceparent": "00-0000000000000000000000000000007b-00000000000001c8-00",
     "tracestate": "dd=s:2;o:rum;t.dm:-4;p:00000000000000aa,a=1,b=2"},
    {"traceparent": "00-0000000000000000000000000000007b-00000000000001c8-01",
     "tracestate": "dd=s:2;o:r\u00e9m"},
    {"x-b3-traceid": "zz", "x-b3-spanid": "1"},
    {"x-b3-traceid": "00000000000000aa", "x-b3-spanid": "00000000000000bb", "x-b3-sampled": "1"},
    {"b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90"},
    {"b3": "nothex-e457b5a2e4d86bd1-1"},
    {"b3": "0"},
    {"baggage": "a=1,b"},
    {"baggage": "a=%E2%82%AC,b=%zz,c=%"},
    {"baggage": ",".join("k%d=v" % i for i in range(100))},
    {"baggage": "big=" + "x" * 9000},
    {"baggage": "small=1,big=" + "x" * 8000},
    {"x-datadog-trace-id": "123", "x-datadog-parent-id": "5",
     "traceparent": "00-0000000000000000000000000000007b-00000000000001c8-01",
     "tracestate": "dd=s:1;p:0000000000000001"},
    {"x-datadog-trace-id": "123", "x-datadog-parent-id": "5",
     "traceparent": "00-0000000000000000000000000000007c-00000000000001c8-01"},
]


def comparable(summary):
    """What both tracers must agree on. `_dd.propagation_error` texts are
    not compared word for word, only their presence."""
    summary = dict(summary)
    summary["error"] = summary["error"] is not None
    return summary


@needs_ddtrace
def test_ctrace_headers_extract_identically_under_ddtrace_and_back():
    cases = {styles: CONTEXTS for styles in STYLES}
    for injector in (sys.executable, DDTRACE_PYTHON):
        injected = run(injector, "inject", cases)
        assert any(injected), "nothing was injected"
        per_style = {}
        for i, styles in enumerate(STYLES):
            per_style[styles] = injected[i * len(CONTEXTS):(i + 1) * len(CONTEXTS)]
        ours = run(sys.executable, "extract", per_style)
        theirs = run(DDTRACE_PYTHON, "extract", per_style)
        for headers, a, b in zip(sum(per_style.values(), []), ours, theirs):
            assert comparable(a) == comparable(b), (injector, headers, a, b)


@needs_ddtrace
def test_ctrace_injects_the_headers_ddtrace_injects():
    cases = {styles: CONTEXTS for styles in STYLES}
    ours = run(sys.executable, "inject", cases)
    theirs = run(DDTRACE_PYTHON, "inject", cases)
    for a, b in zip(ours, theirs):
        b.pop("tracestate", None) if "ot=" in b.get("tracestate", "") else None
        a.pop("tracestate", None) if "tracestate" not in b else None
        assert a == b


@needs_ddtrace
def test_malformed_headers_extract_as_ddtrace_extracts_them():
    cases = {"datadog,tracecontext,b3multi,b3,baggage": MALFORMED}
    ours = run(sys.executable, "extract", cases)
    theirs = run(DDTRACE_PYTHON, "extract", cases)
    for headers, a, b in zip(MALFORMED, ours, theirs):
        assert comparable(a) == comparable(b), (headers, a, b)


def assert_whole(ctx):
    """A context is either empty or fully valid."""
    if ctx.trace_id is None:
        # No trace: no parent either (a bare priority is b3's "deny" form).
        assert ctx.span_id is None
        return
    assert 0 < ctx.trace_id < 2**128
    assert ctx.span_id is None or 0 < ctx.span_id < 2**64
    assert ctx.sampling_priority is None or isinstance(ctx.sampling_priority, int)
    for key, value in ctx._meta.items():
        assert isinstance(key, str) and isinstance(value, str)


HEADER_NAMES = ["x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
                "x-datadog-origin", "x-datadog-tags", "traceparent", "tracestate",
                "x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "b3", "baggage",
                "X-DATADOG-TRACE-ID", "HTTP_X_DATADOG_TRACE_ID"]
header_values = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789abcdefABCDEF-=,;:~% ", max_size=80),
    st.integers(min_value=-2**130, max_value=2**130).map(str),
    st.binary(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=8))
def test_random_headers_never_raise_and_never_half_extract(headers):
    from ddtrace.propagation.http import HTTPPropagator
    from ddtrace.propagation import http
    http.config.extract = ["datadog", "tracecontext", "b3multi", "b3", "baggage"]
    try:
        ctx = HTTPPropagator.extract(headers)
    finally:
        http.config.reload()
    assert_whole(ctx)


def test_huge_and_odd_inputs_are_survived():
    from ddtrace.propagation.http import HTTPPropagator
    for headers in [{"x-datadog-trace-id": "9" * 1_000_000}, {"baggage": "a=" + "%41" * 500_000},
                    {"tracestate": "dd=" + "s:1;" * 100_000, "traceparent": "00-" + "1" * 32 + "-" + "1" * 16 + "-01"},
                    {1: 2, None: "x"}, {"traceparent": "\ud800"}, None, {},
                    # 160 bits: ddtrace keeps the span id without a trace id
                    {"x-b3-traceid": "a" * 40, "x-b3-spanid": "1"}]:
        assert_whole(HTTPPropagator.extract(headers))
    HTTPPropagator.inject(None, {})


def test_inject_from_a_live_span_decides_sampling_first():
    from ddtrace import tracer
    from ddtrace.propagation.http import HTTPPropagator
    with tracer.trace("client") as span:
        assert span.context.sampling_priority is None
        headers = {}
        HTTPPropagator.inject(span, headers)
        assert headers["x-datadog-sampling-priority"] == str(span.context.sampling_priority)
        assert headers["x-datadog-parent-id"] == str(span.span_id)
        assert "_dd.p.dm=" in headers["x-datadog-tags"]
        assert headers["traceparent"].endswith("-%016x-01" % span.span_id)
    child = tracer.start_span("server", child_of=HTTPPropagator.extract(headers))
    assert child.trace_id == span.trace_id and child.parent_id == span.span_id
    child.finish()


CHILD_SPAN_SCRIPT = r'''
from ddtrace import tracer
from ddtrace.propagation.http import HTTPPropagator
import json
ctx = HTTPPropagator.extract({"traceparent": "00-%032x-%016x-01" % (0x1234, 0x5678),
                              "tracestate": "dd=s:1;t.dm:-4,other=v1,more=v2"})
with tracer.start_span("server", child_of=ctx, activate=True):
    with tracer.trace("client") as client:
        headers = {}
        HTTPPropagator.inject(client, headers)
print(json.dumps(headers["tracestate"].replace("%016x" % client.span_id, "<client>")))
'''


@needs_ddtrace
def test_vendor_tracestate_entries_travel_through_local_spans_as_in_ddtrace():
    """A trace continued from a W3C parent re-sends the other vendors'
    entries from any of its spans, not only from the extracted Context."""
    def tracestate(python):
        proc = subprocess.run([python, "-c", CHILD_SPAN_SCRIPT], capture_output=True, text=True,
                              env=dict(os.environ, DD_TRACE_ENABLED="false"), timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.splitlines()[-1])
    ours = tracestate(sys.executable)
    assert ours == tracestate(DDTRACE_PYTHON)
    assert ours.endswith(",other=v1,more=v2") and "p:<client>" in ours


def test_style_none_and_env_selection(monkeypatch):
    from ddtrace.propagation import http
    monkeypatch.setenv("DD_TRACE_PROPAGATION_STYLE", "none")
    http.config.reload()
    try:
        headers = {}
        from ddtrace.trace import Context
        http.HTTPPropagator.inject(Context(trace_id=1, span_id=2), headers)
        assert headers == {}
        monkeypatch.setenv("DD_TRACE_PROPAGATION_STYLE_INJECT", "b3, B3MULTI")
        http.config.reload()
        assert http.config.inject == ["b3", "b3multi"] and http.config.extract == []
    finally:
        monkeypatch.delenv("DD_TRACE_PROPAGATION_STYLE")
        monkeypatch.delenv("DD_TRACE_PROPAGATION_STYLE_INJECT", raising=False)
        http.config.reload()
    assert http.config.extract == ["datadog", "tracecontext", "baggage"]


#: one header set per style, the headers named as in a WSGI environ's lowercase keys
KEY_HEADER_CASES = {
    "datadog": {"x-datadog-trace-id": "7", "x-datadog-parent-id": "9"},
    "tracecontext": {"traceparent": "00-" + "0" * 31 + "7-" + "0" * 15 + "9-01"},
    "b3multi": {"x-b3-traceid": "7", "x-b3-spanid": "9"},
    "b3": {"b3": "7-9-1"},
}


@pytest.mark.parametrize("style", sorted(KEY_HEADER_CASES))
@pytest.mark.parametrize("form", ["lowercase", "wsgi"])
def test_extract_skips_no_style_whose_key_header_is_present(style, form):
    """Extraction is skipped when no style's key header is there: each
    style must still be found by its key header, in both forms it reads,
    among other styles that find nothing."""
    from ddtrace.propagation import http
    from ddtrace.propagation.http import HTTPPropagator
    headers = KEY_HEADER_CASES[style]
    if form == "wsgi":
        headers = {"http_" + k.replace("-", "_"): v for k, v in headers.items()}
    http.config.extract = [s for s in ["baggage", "datadog", "tracecontext", "b3multi", "b3"] if s != style] + [style]
    try:
        ctx = HTTPPropagator.extract(dict(headers, **{"user-agent": "x"}))
    finally:
        http.config.reload()
    assert (ctx.trace_id, ctx.span_id) == (7, 9)


def test_extract_without_propagation_headers_gives_a_new_empty_context_each_time():
    from ddtrace.propagation.http import HTTPPropagator
    first = HTTPPropagator.extract({"user-agent": "x", "x-datadog-parent-id": "9", "b3-other": "1"})
    second = HTTPPropagator.extract({"user-agent": "x"})
    assert first is not second
    assert (first.trace_id, first.span_id, first.get_all_baggage_items()) == (None, None, {})
    first.set_baggage_item("k", "v")
    assert second.get_all_baggage_items() == {}
