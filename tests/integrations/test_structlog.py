"""structlog log correlation (patched by default): the same script under
real ddtrace 4.16 and ctrace, each with its ddtrace-run, writes the same
event dicts: the active span's ids inside a span, "0" ids with the
service, env and version outside one, for a configured chain and for
structlog's default processors."""
import re

import pytest

from differential import run_script

SCRIPT = r'''
import os, structlog
from ddtrace import tracer
out = open(os.environ["LOG_FILE"], "w")
structlog.configure(processors=[structlog.processors.JSONRenderer(sort_keys=True)],
                    logger_factory=structlog.PrintLoggerFactory(out))
log = structlog.get_logger()
log.info("outside")
with tracer.trace("web.request", service="web"):
    log.info("inside")
# structlog's default chain (its console renderer), rebuilt by reset_defaults
structlog.reset_defaults()
structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
with tracer.trace("job"):
    structlog.get_logger().info("defaults")
out.close()
'''
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)


def logged(tracer, tmp_path, env=None):
    """The script's log output, ids replaced by the name of their span."""
    log_file = tmp_path / (tracer + ".log")
    traces = run_script(tracer, SCRIPT, env=dict({"LOG_FILE": str(log_file)}, **(env or {})))
    text = TIMESTAMP.sub("<time> ", log_file.read_text())
    for span in (s for trace in traces for s in trace):
        trace_id = "%s%016x" % (span["meta"]["_dd.p.tid"], span["trace_id"])
        text = text.replace(trace_id, "<trace of %s>" % span["name"])
        text = text.replace('"%d"' % span["span_id"], '"<%s>"' % span["name"])
        text = text.replace("=%d " % span["span_id"], "=<%s> " % span["name"])
    return text


def test_event_dicts_carry_the_ids_and_service_as_ddtrace_writes_them(tmp_path):
    ours = logged("ctrace", tmp_path)
    assert ours == logged("ddtrace", tmp_path)
    outside, inside, defaults = ours.splitlines()
    assert '"dd.span_id": "0", "dd.trace_id": "0"' in outside and '"dd.service": "diff-app"' in outside
    assert '"dd.span_id": "<web.request>", "dd.trace_id": "<trace of web.request>"' in inside
    assert "dd.span_id=<job> dd.trace_id=<trace of job>" in defaults


@pytest.mark.parametrize("env", [{"DD_LOGS_INJECTION": "false"}, {"DD_LOGS_INJECTION": "0"},
                                 {"DD_TRACE_STRUCTLOG_ENABLED": "false"},
                                 {"DD_PATCH_MODULES": "structlog:false"}])
def test_injection_or_the_integration_off_leaves_event_dicts_alone(tmp_path, env):
    ours = logged("ctrace", tmp_path, env=env)
    assert ours == logged("ddtrace", tmp_path, env=env)
    assert "dd." not in ours


def test_a_failing_injection_never_breaks_the_log_call(tmp_path):
    log_file = tmp_path / "failing.log"
    code = r'''
        import os, structlog
        import ddtrace._tracer
        from ddtrace.contrib import _safety
        class Broken:
            def get_log_correlation_context(self):
                raise RuntimeError("tracer broken")
        ddtrace._tracer.tracer = Broken()
        out = open(os.environ["LOG_FILE"], "w")
        structlog.configure(processors=[structlog.processors.JSONRenderer()],
                            logger_factory=structlog.PrintLoggerFactory(out))
        structlog.get_logger().info("still logged")
        structlog.get_logger().info("again")
        out.close()
        assert _safety.errors["structlog"] == 2, _safety.errors
    '''
    run_script("ctrace", code, env={"LOG_FILE": str(log_file)})
    assert log_file.read_text().splitlines() == ['{"event": "still logged"}', '{"event": "again"}']
