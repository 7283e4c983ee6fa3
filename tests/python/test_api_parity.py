"""API parity with ddtrace's own tests: the same snippet runs under the real
ddtrace (.venv-ddtrace, made by `make peers`) and under ctrace, and what
each prints (JSON, last line) must be the same. Each test names the public
behaviour it compares; where ctrace is deliberately different the test says
so and checks ctrace's side."""
import os
from textwrap import dedent

import pytest

from delivery_helpers import (CTRACE_ONLY_METRICS, DDTRACE_ONLY_META, DDTRACE_ONLY_METRICS,
                              DDTRACE_PYTHON, DDTRACE_QUIET, last_json, run_both, run_traced)
from recording_agent import RecordingAgent

pytestmark = pytest.mark.skipif(not os.path.exists(DDTRACE_PYTHON),
                                reason="the real ddtrace is not installed (make peers)")


# -- Span(...) built by hand ---------------------------------------------------------

def test_span_built_by_hand_has_ddtrace_defaults_and_no_tracer_tags():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import Span
        s = Span("op")
        out = [s.name, s.service, s.resource, s.span_type, s.trace_id > 0, s.span_id > 0,
               s.parent_id, s.get_tags(), s.get_metrics(), s.finished, s.duration]
        s.finish()
        out += [s.get_tags(), s.get_metrics(), s.finished, s.duration is not None]
        print(json.dumps(out))
    ''', env={"DD_SERVICE": "app", "DD_ENV": "prod", "DD_VERSION": "1"})
    assert ours == theirs


def test_span_built_by_hand_takes_ids_start_and_context():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import Span, Context
        s = Span("op2", service="svc", resource="res", span_type="web", trace_id=123,
                 span_id=456, parent_id=789, start=1000.5)
        out = [s.name, s.service, s.resource, s.span_type, s.trace_id, s.span_id, s.parent_id,
               s.start, s.start_ns, s.context.trace_id, s.context.span_id]
        s.finish(1001.0)
        out.append(s.duration)
        ctx = Context(trace_id=5, span_id=6, sampling_priority=2, dd_origin="synthetics")
        from_ctx = Span("op3", context=ctx)
        out += [from_ctx.trace_id == 5, from_ctx.parent_id, from_ctx.context.sampling_priority,
                from_ctx.context.dd_origin]
        both = Span("op4", trace_id=5, parent_id=6, context=ctx)
        out += [both.trace_id, both.parent_id, both.context.sampling_priority]
        print(json.dumps(out))
    ''')
    assert ours == theirs


def test_span_built_by_hand_calls_on_finish_once_and_is_never_sent():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import Span, tracer
        calls = []
        s = Span("op", on_finish=[lambda span: calls.append(span.name)])
        s.finish()
        s.finish()
        print(json.dumps([calls, tracer.current_span() is None]))
    ''')
    assert ours == theirs == [["op"], True]
    # never sent: nothing reaches the in-memory writer
    ours, _ = run_both('''
        import json
        from ddtrace.trace import Span, tracer
        Span("alone").finish()
        try:
            payload, count = tracer._take_payload(4)
        except AttributeError:  # the real ddtrace has no in-memory writer
            count = 0
        print(json.dumps(count))
    ''', env={"_CT_IN_MEMORY_WRITER": "1"})
    assert ours == 0


def test_span_built_by_hand_takes_links():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import Span
        try:
            from ddtrace._trace._span_link import SpanLink   # the real ddtrace's
        except ImportError:
            class SpanLink:                                   # the same shape
                def __init__(self, trace_id, span_id, tracestate=None, flags=None,
                             attributes=None):
                    self.trace_id, self.span_id, self.tracestate = trace_id, span_id, tracestate
                    self.flags, self.attributes = flags, attributes
        s = Span("op", links=[SpanLink(7, 8, attributes={"a": "b"}), SpanLink(2**70, 9)])
        print(json.dumps(sorted([link["trace_id"] if isinstance(link, dict) else link.trace_id,
                                 link["span_id"] if isinstance(link, dict) else link.span_id]
                                for link in (s._get_links() if hasattr(s, "_get_links")
                                             else s._links))))
    ''')
    assert ours == theirs == [[7, 8], [2 ** 70, 9]]


def test_parent_id_is_writable():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import tracer
        with tracer.trace("root") as root:
            before = root.parent_id
            root.parent_id = 42
            after = root.parent_id
        print(json.dumps([before, after]))
    ''')
    assert ours == theirs == [None, 42]


# -- set_tag routing of large ints ------------------------------------------------------

def test_set_tag_routes_ints_as_ddtrace_4_does():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import tracer
        values = {"a": 2**53 + 2, "b": 2**60, "c": -2**60, "d": -2**63, "e": 2**63,
                  "f": 2**64, "g": -2**63 - 1, "h": 2**70, "i": 7}
        with tracer.trace("x") as s:
            for k, v in values.items():
                s.set_tag(k, v)
            print(json.dumps([sorted(k for k in values if s.get_tag(k) is not None),
                              {k: float(s.get_metric(k)) for k in values
                               if s.get_metric(k) is not None}]))
    ''')
    assert ours == theirs


# -- the tags the tracer adds, as get_tag/get_metric(s) read them -------------------------

# Prints, at each moment ddtrace's tests look, every tag and metric a read
# shows: values where they are the same everywhere, else "*".
READ_TAGS = """
import json, os
from ddtrace.trace import tracer
from ddtrace.constants import MANUAL_KEEP_KEY
STABLE = {"language", "_dd.p.dm", "_sampling_priority_v1", "_dd.top_level", "_dd.rule_psr",
          "_dd.limit_psr", "_dd.base_service", "_dd.origin"}
IGNORED = set(%r)
def read(span):
    tags, metrics = span.get_tags(), span.get_metrics()
    seen = {k: (v if k in STABLE else "*") for k, v in list(tags.items()) + list(metrics.items())
            if k not in IGNORED}
    # the single reads agree with the dicts
    assert all(span.get_tag(k) == v for k, v in tags.items())
    assert all(span.get_metric(k) == v for k, v in metrics.items())
    if "process_id" in metrics:
        assert metrics["process_id"] == os.getpid()
    return seen
out = {}
with tracer.trace("root", service="svc") as root:
    with tracer.trace("child", service="other") as child:
        out["child open"] = read(child)
        with tracer.trace("grandchild") as grandchild:
            pass
    out["child finished, trace open"] = read(child)
    out["root open"] = read(root)
out["root finished"] = read(root)
out["grandchild, trace done"] = read(grandchild)
with tracer.trace("kept") as kept:
    kept.set_tag(MANUAL_KEEP_KEY)
out["manual keep"] = read(kept)
single = tracer.trace("single")
out["single open"] = read(single)
single.finish()
out["single finished"] = read(single)
print(json.dumps(out, sort_keys=True))
""" % (sorted(DDTRACE_ONLY_META | DDTRACE_ONLY_METRICS | CTRACE_ONLY_METRICS),)


@pytest.mark.parametrize("env", [
    {"DD_SERVICE": "app"},
    {"DD_SERVICE": "app", "DD_TRACE_SAMPLING_RULES": '[{"service": "svc", "sample_rate": 1}]'},
    {"DD_SERVICE": "app", "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "false"},
], ids=["default", "rule", "64-bit-ids"])
def test_reads_show_the_tags_the_tracer_adds(env):
    ours, theirs = run_both(READ_TAGS, env=env)
    assert ours == theirs
    assert ours["single open"] == {"runtime-id": "*", "process_id": "*"}


@pytest.mark.parametrize("processors", ["", "tracer.configure(trace_processors=[Keep()])"],
                         ids=["plain", "with-a-trace-processor"])
def test_partial_flush_marks_the_first_span_of_each_partial_chunk(processors):
    code = '''
        from ddtrace import tracer
        from ddtrace.trace import TraceFilter
        class Keep(TraceFilter):
            def process_trace(self, trace):
                return trace
        PROCESSORS
        with tracer.trace("root"):
            for i in range(5):
                with tracer.trace("c%d" % i):
                    pass
        tracer.flush()
    '''.replace("PROCESSORS", processors)
    env = dict(DDTRACE_QUIET, DD_TRACE_PARTIAL_FLUSH_MIN_SPANS="2")
    chunks = []
    for python in (None, DDTRACE_PYTHON):
        with RecordingAgent() as agent:
            run_traced(code, agent.url, env, python=python)
            chunks.append(sorted([(s["name"], s["metrics"].get("_dd.py.partial_flush"))
                                  for s in trace] for trace in agent.traces()))
    ours, theirs = chunks
    assert ours == theirs
    assert [("c0", 2), ("c1", None)] in ours


# -- the service: DD_SERVICE_MAPPING, DD_TAGS, inference ------------------------------------

SERVICES = '''
    import json
    from ddtrace.trace import tracer
    with tracer.trace("a", service="mysql") as a:
        with tracer.trace("b") as b:
            with tracer.trace("c", service="django") as c:
                pass
        with tracer.trace("d") as d:
            d.service = "mysql"         # ddtrace maps at span start only
        with tracer.trace("e") as e:
            e.set_tag("service.name", "mysql")
    with tracer.trace("f") as f:
        pass
    tracer.flush()
    print(json.dumps({s.name: [s.service, s.get_tag("version")] for s in (a, b, c, d, e, f)}))
'''


@pytest.mark.parametrize("env", [
    {"DD_SERVICE": "app", "DD_SERVICE_MAPPING": "mysql:django,django:web,app:renamed"},
    {"DD_TAGS": "service:from-tags,version:9,env:e1,team:x", "DD_SERVICE_MAPPING": "mysql:db"},
    {"DD_SERVICE": "app", "DD_TAGS": "service:ignored,version:9", "DD_VERSION": "2"},
], ids=["mapping", "dd-tags-service", "dd-service-wins"])
def test_span_services_follow_mapping_and_dd_tags(env):
    reports, payloads = [], []
    for python in (None, DDTRACE_PYTHON):
        with RecordingAgent() as agent:
            proc = run_traced(SERVICES, agent.url, dict(DDTRACE_QUIET, **env), python=python)
            reports.append(last_json(proc))
            payloads.append(sorted((s["name"], s["service"], s["meta"].get("version"),
                                    "service" in s["meta"], s["meta"].get("team"))
                                   for t in agent.traces() for s in t))
    assert reports[0] == reports[1]
    assert payloads[0] == payloads[1]


def inference_tree(root):
    """A package inside a plain directory of scripts, a .pyc-only
    directory, a tests directory and a program under bin/."""
    (root / "proj" / "pkg" / "sub").mkdir(parents=True)
    (root / "proj" / "tool.py").write_text("")
    (root / "proj" / "pkg" / "__init__.py").write_text("")
    (root / "proj" / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "proj" / "pkg" / "sub" / "app.py").write_text("")
    (root / "compiled").mkdir()
    (root / "compiled" / "app.pyc").write_bytes(b"")
    (root / "proj" / "tests").mkdir()
    (root / "proj" / "tests" / "test_x.py").write_text("")
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "pytest").write_text("")


@pytest.mark.parametrize("argv,expected", [
    (["proj/pkg/sub/app.py"], "pkg.sub"),
    (["proj/tool.py"], "proj"),
    (["compiled/app.pyc"], "compiled"),
    (["{root}/venv/bin/pytest", "proj/tests"], "proj"),
    (["{root}/venv/bin/pytest", "-x", "proj/tests/test_x.py"], "proj"),
    (["-m", "json.tool"], "json.tool"),
    (["-c"], "unnamed-python-service"),
], ids=["script-in-package", "script", "pyc", "pytest-dir", "pytest-flag-file", "module", "dash-c"])
def test_inferred_default_service(tmp_path, argv, expected):
    inference_tree(tmp_path)
    argv = [a.format(root=tmp_path) for a in argv]
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import tracer
        with tracer.trace("x") as s:
            pass
        print(json.dumps([s.service, tracer.get_log_correlation_context()["dd.service"]]))
    ''', argv=argv, cwd=str(tmp_path))
    # Deliberately different: with nothing to name it, ddtrace's span has no
    # service (None) and ctrace's the agent protocol's default name.
    if theirs[0] is None:
        theirs[0] = "unnamed-python-service"
    assert ours == theirs
    assert ours[0] == expected


# -- lifecycle ------------------------------------------------------------------------------

PROCESSOR = '''
    import gc, json, weakref
    from ddtrace.trace import tracer, TraceFilter
    calls = []
    class Record(TraceFilter):
        def __init__(self, keep):
            self.keep = keep
        def process_trace(self, trace):
            calls.append([s.name for s in trace])
            return trace if self.keep else None
'''


@pytest.mark.parametrize("keep", [False, True], ids=["dropped", "kept"])
def test_processed_trace_spans_are_freed(keep):
    ours, theirs = run_both(dedent(PROCESSOR) + dedent('''
        tracer.configure(trace_processors=[Record(%r)])
        with tracer.trace("a") as a:
            with tracer.trace("b") as b:
                pass
        refs = [weakref.ref(a), weakref.ref(b)]
        del a, b
        gc.collect()
        print(json.dumps([calls, [r() is None for r in refs]]))
    ''' % keep))
    assert ours == theirs == [[["a", "b"]], [True, True]]


def test_disabled_tracer_runs_no_trace_processor():
    ours, theirs = run_both(dedent(PROCESSOR) + dedent('''
        tracer.configure(trace_processors=[Record(True)])
        tracer.enabled = False
        with tracer.trace("off"):
            pass
        tracer.enabled = True
        with tracer.trace("on"):
            pass
        print(json.dumps(calls))
    '''))
    assert ours == theirs == [["on"]]


def test_shutdown_disables_the_tracer_and_clears_the_active_span():
    ours, theirs = run_both('''
        import json
        from ddtrace.trace import tracer
        span = tracer.trace("open")
        tracer.shutdown()
        print(json.dumps([tracer.current_span() is None, tracer.enabled]))
    ''')
    assert ours == theirs == [True, False]


# -- propagation ----------------------------------------------------------------------------

UPSTREAM = '''
    import json
    from ddtrace.trace import tracer
    from ddtrace.propagation.http import HTTPPropagator
    upstream = {"x-datadog-trace-id": "171", "x-datadog-parent-id": "999",
                "x-datadog-sampling-priority": "2",
                "x-datadog-tags": "_dd.p.dm=-4,_dd.p.tid=NOTHEX",
                "traceparent": "00-000000000000000000000000000000ab-00000000000000cd-01",
                "tracestate": "dd=s:2;p:00000000000000ef,other=x", "baggage": "k=v"}
'''


def traces_shape(traces):
    """Each span of each trace: name, whether it continues the upstream
    trace (171), its parent, the meta keys propagation decides, its links."""
    keys = ("_dd.parent_id", "_dd.propagation_error", "_dd.p.dm")
    shape = []
    for t in traces:
        names = {s["span_id"]: s["name"] for s in t}
        shape += [(s["name"], s["trace_id"] == 171, names.get(s["parent_id"], s["parent_id"]),
                   {k: s["meta"][k] for k in keys if k in s["meta"]}, s.get("span_links"))
                  for s in t]
    return sorted(shape, key=repr)


@pytest.mark.parametrize("behavior", ["continue", "restart", "ignore"])
def test_extract_behavior_continues_restarts_or_ignores_the_upstream_trace(behavior):
    code = dedent(UPSTREAM) + dedent('''
        ctx = HTTPPropagator.extract(upstream)
        with tracer.start_span("root", child_of=ctx, activate=True) as root:
            with tracer.trace("child"):
                pass
            injected = {}
            HTTPPropagator.inject(root, injected)
        tracer.flush()
        print(json.dumps([ctx.trace_id, ctx.span_id, ctx.get_all_baggage_items(), sorted(injected)]))
    ''')
    env = dict(DDTRACE_QUIET, DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT=behavior,
               DD_TRACE_API_VERSION="v0.4")
    results = []
    for python in (None, DDTRACE_PYTHON):
        with RecordingAgent() as agent:
            proc = run_traced(code, agent.url, env, python=python)
            results.append((last_json(proc), traces_shape(agent.traces())))
    assert results[0] == results[1]
    (trace_id, span_id, baggage, injected), spans = results[0]
    assert (trace_id == 171) is (behavior == "continue")
    if behavior == "continue":  # the upstream tags carried an error: no x-datadog-tags
        assert "x-datadog-tags" not in injected and "x-datadog-trace-id" in injected
        root = [s for s in spans if s[0] == "root"][0]
        assert root[2:4] == (205, {"_dd.parent_id": "00000000000000ef", "_dd.p.dm": "-4",
                                   "_dd.propagation_error": "malformed_tid NOTHEX"})


@pytest.mark.parametrize("styles", ["datadog,none", "none,tracecontext", "none", "b3multi, none ,datadog"])
def test_none_next_to_other_styles_is_ignored(styles):
    ours, theirs = run_both(dedent(UPSTREAM) + dedent('''
        ctx = HTTPPropagator.extract(upstream)
        with tracer.trace("op") as span:
            injected = {}
            HTTPPropagator.inject(span, injected)
        print(json.dumps([ctx.trace_id, ctx.span_id, sorted(injected)]))
    '''), env={"DD_TRACE_PROPAGATION_STYLE": styles})
    assert ours == theirs


# -- log correlation with structlog ------------------------------------------------------

STRUCTLOG = '''
    import json, sys
    %s
    import structlog
    %s
    lines = []
    class Capture:
        def msg(self, message):
            lines.append(message)
        info = msg
    def capture_and_render(logger, method, event):
        ids = {k: ("*" if k.endswith("_id") and event[k] != "0" else event[k])
               for k in event if k.startswith("dd.")}
        lines.append([event["event"], ids, [k for k in event if k.startswith("dd.")]])
        raise structlog.DropEvent
    %s
    from ddtrace import tracer
    log = structlog.get_logger()
    log.info("outside")
    with tracer.trace("op"):
        log.info("inside")
    print(json.dumps(lines))
'''
CONFIGURED = "structlog.configure(processors=[capture_and_render])"
RESET = "structlog.reset_defaults(); structlog.configure(processors=structlog.get_config()['processors'][:-1] + [capture_and_render])"


@pytest.mark.parametrize("before,after,configure", [
    ("import ddtrace.auto", "", CONFIGURED),
    ("", "import ddtrace.auto", CONFIGURED),
    ("import ddtrace.auto", "", RESET),
], ids=["configured", "imported-before-ddtrace", "default-processors"])
def test_structlog_events_carry_the_correlation_fields(before, after, configure):
    ours, theirs = run_both(STRUCTLOG % (before, after, configure),
                            env={"DD_SERVICE": "svc", "DD_ENV": "prod", "DD_VERSION": "1.2"})
    assert ours == theirs
    outside, inside = ours
    assert outside[1] == {"dd.trace_id": "0", "dd.span_id": "0", "dd.service": "svc",
                          "dd.version": "1.2", "dd.env": "prod"}
    assert inside[1]["dd.trace_id"] == "*"


def test_structlog_is_left_alone_without_log_injection():
    ours, theirs = run_both(STRUCTLOG % ("import ddtrace", "", CONFIGURED))
    assert ours == theirs
    assert ours[0][1] == {}


# -- configuration errors ------------------------------------------------------------------

def test_invalid_agent_url_warns_instead_of_raising_at_import():
    # Deliberately different: ddtrace raises ValueError from `import ddtrace`,
    # which takes the application down for a typo in its environment; ctrace
    # says what is wrong on stderr, keeps the default URL and traces on.
    code = '''
        from ddtrace import tracer
        with tracer.trace("x"):
            pass
        print(tracer._agent_url)
    '''
    env = dict(DDTRACE_QUIET, DD_TRACE_AGENT_URL="bad://x:1")
    ours = run_traced(code, None, env, check=False)
    theirs = run_traced(code, None, env, python=DDTRACE_PYTHON, check=False)
    assert theirs.returncode != 0 and "ValueError" in theirs.stderr and "bad" in theirs.stderr
    assert ours.returncode == 0
    assert ours.stdout.strip() == "http://localhost:8126"
    assert "invalid DD_TRACE_AGENT_URL=bad://x:1 (it must start with http://" in ours.stderr
