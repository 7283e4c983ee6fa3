"""Log correlation (DD_LOGS_INJECTION) as ddtrace 4.16 does it: nothing on
a plain import; ddtrace.patch(logging=True), ddtrace.auto and ddtrace-run
add dd.* attributes to every record. Each case runs in a fresh interpreter
because patching logging is process-wide."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tracer_helpers import run_script

DDTRACE_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", ".venv-ddtrace", "bin", "python")

DOCUMENTED_FORMAT = (
    "%(asctime)s %(levelname)s [%(name)s] [%(filename)s:%(lineno)d] "
    "[dd.service=%(dd.service)s dd.env=%(dd.env)s dd.version=%(dd.version)s "
    "dd.trace_id=%(dd.trace_id)s dd.span_id=%(dd.span_id)s] - %(message)s")

ENV = {"DD_SERVICE": "shop", "DD_ENV": "prod", "DD_VERSION": "1.2.3"}

# Logs outside any span, inside a 128-bit and a 64-bit trace, and inside an
# activated remote Context, with the documented format; prints one JSON line
# per record: the formatted message and the ids the test expects.
FORMAT_SCRIPT = """
import io, json, logging, sys
SETUP
from ddtrace.trace import tracer, Context
stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter(FORMAT))
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.INFO)
expected = []
log.info("outside")
expected.append(("0", "0"))
with tracer.trace("request") as span:
    log.info("inside")
    expected.append((span.trace_id, span.span_id))
tracer.context_provider.activate(Context(trace_id=5, span_id=7))
log.info("remote")
expected.append((5, 7))
tracer.context_provider.activate(None)
print(json.dumps({"lines": stream.getvalue().splitlines(), "expected": expected}))
sys.stdout.flush()
import os; os._exit(0)  # skip the exit flush to an agent that is not there
"""


def format_trace_id(trace_id):
    trace_id = int(trace_id)
    return "%032x" % trace_id if trace_id >= 1 << 64 else str(trace_id)


def run_format(setup, env=None, python=None):
    code = FORMAT_SCRIPT.replace("SETUP", setup).replace("FORMAT", repr(DOCUMENTED_FORMAT))
    full_env = dict(ENV, **(env or {}))
    if python is None:
        out = run_script(code, full_env).stdout
    else:
        out = run_foreign(python, code, full_env)
    return json.loads(out.strip().splitlines()[-1])


def run_foreign(python, code, env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    full_env.update({"DD_TRACE_AGENT_URL": "http://127.0.0.1:9",
                     "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                     "DD_REMOTE_CONFIGURATION_ENABLED": "false"}, **env)
    proc = subprocess.run([python, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def correlation_fields(line):
    inner = line.split("[dd.service=", 1)[1].split("] - ", 1)[0]
    fields = dict(part.split("=", 1) for part in ("dd.service=" + inner).split(" "))
    return fields


@pytest.mark.parametrize("setup", ["import ddtrace.auto",
                                   "import ddtrace; ddtrace.patch(logging=True)"])
def test_documented_format_string_carries_the_ids(setup):
    result = run_format(setup)
    assert len(result["lines"]) == 3
    for line, (trace_id, span_id) in zip(result["lines"], result["expected"]):
        fields = correlation_fields(line)
        assert fields == {"dd.service": "shop", "dd.env": "prod", "dd.version": "1.2.3",
                          "dd.trace_id": format_trace_id(trace_id),
                          "dd.span_id": str(span_id)}
    # 128-bit trace ids (the default) are written as 32 hex digits
    assert len(correlation_fields(result["lines"][1])["dd.trace_id"]) == 32


def test_64_bit_trace_ids_are_decimal():
    result = run_format("import ddtrace.auto",
                        {"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "false"})
    trace_id = correlation_fields(result["lines"][1])["dd.trace_id"]
    assert trace_id == str(result["expected"][1][0]) and trace_id.isdigit()


def test_plain_import_does_not_inject():
    out = run_script("""
        import logging
        import ddtrace
        from ddtrace import tracer
        with tracer.trace("x"):
            record = logging.getLogger("a").makeRecord("a", 20, "f", 1, "m", (), None)
        print(sorted(k for k in record.__dict__ if k.startswith("dd")))
    """, ENV).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("value,injects", [("true", True), ("1", True), ("structured", True),
                                           ("false", False), ("0", False), ("bogus", False)])
def test_dd_logs_injection_values(value, injects):
    proc = run_script("""
        import logging
        import ddtrace.auto
        record = logging.getLogger("a").makeRecord("a", 20, "f", 1, "m", (), None)
        print(getattr(record, "dd.trace_id", "absent"))
    """, dict(ENV, DD_LOGS_INJECTION=value))
    assert proc.stdout.strip() == ("0" if injects else "absent")
    assert ("Invalid log injection state" in proc.stderr) == (value == "bogus")


def test_tracing_disabled_leaves_logging_alone():
    out = run_script("""
        import logging
        import ddtrace.auto
        record = logging.getLogger("a").makeRecord("a", 20, "f", 1, "m", (), None)
        print(hasattr(record, "dd.trace_id"))
    """, dict(ENV, DD_TRACE_ENABLED="false")).stdout
    assert out.strip() == "False"


def test_json_formatter_sees_the_attributes_and_no_helper_object():
    out = run_script("""
        import io, json, logging
        import ddtrace.auto
        from ddtrace import tracer

        class JsonFormatter(logging.Formatter):
            def format(self, record):
                return json.dumps({k: v for k, v in record.__dict__.items()
                                   if k.startswith("dd") or k == "msg"})

        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        brace = logging.StreamHandler(stream)
        brace.setFormatter(logging.Formatter("{dd.service}|{dd.trace_id}|{dd.span_id}", style="{"))
        log = logging.getLogger("app")
        log.addHandler(brace)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        with tracer.trace("request") as span:
            log.info("hello", extra={"dd.trace_id": "user value"})
        print(json.dumps({"lines": stream.getvalue().splitlines(),
                          "ids": [span.trace_id, span.span_id]}))
    """, ENV).stdout
    result = json.loads(out.strip().splitlines()[-1])
    trace_id, span_id = result["ids"]
    brace_line, json_line = result["lines"]
    assert brace_line == "shop|%s|%s" % (format_trace_id(trace_id), span_id)
    record = json.loads(json_line)
    # the tracer's values win over `extra`, and record.dd is gone again
    assert record == {"msg": "hello", "dd.trace_id": format_trace_id(trace_id),
                      "dd.span_id": str(span_id), "dd.service": "shop",
                      "dd.env": "prod", "dd.version": "1.2.3"}


def test_correlation_context_without_active_span(tracer):
    context = tracer.get_log_correlation_context()
    assert context["dd.trace_id"] == "0" and context["dd.span_id"] == "0"
    assert set(context) == {"dd.trace_id", "dd.span_id", "dd.service", "dd.env", "dd.version"}


def test_correlation_context_is_zero_when_tracing_is_disabled(tracer):
    tracer.enabled = False
    with tracer.trace("x"):
        context = tracer.get_log_correlation_context()
    assert (context["dd.trace_id"], context["dd.span_id"]) == ("0", "0")


@pytest.mark.skipif(not os.path.exists(DDTRACE_PYTHON), reason="needs .venv-ddtrace")
@pytest.mark.parametrize("setup", ["import ddtrace.auto", "import ddtrace"])
def test_same_fields_as_real_ddtrace(setup):
    """The same script under real ddtrace 4.16 and ctrace: the correlation
    fields of every line agree in shape and value (ids are random, so each
    line is compared with the ids its own run expects)."""
    ours = run_format(setup)
    theirs = run_format(setup, python=DDTRACE_PYTHON)
    assert len(ours["lines"]) == len(theirs["lines"])
    for result in (ours, theirs):
        for index, line in enumerate(result["lines"]):
            if "[dd.service=" not in line:
                continue
            trace_id, span_id = result["expected"][index]
            result.setdefault("fields", []).append(
                dict(correlation_fields(line), **{"dd.trace_id": format_trace_id(trace_id) ==
                     correlation_fields(line)["dd.trace_id"],
                     "dd.span_id": str(span_id) == correlation_fields(line)["dd.span_id"]}))
    assert ours.get("fields") == theirs.get("fields")
