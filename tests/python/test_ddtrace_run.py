"""ddtrace-run and `import ddtrace.auto`, in real subprocesses: the program
runs as it would without them (argv, exit status, python -m), with the
DD_* configuration and log injection applied, as ddtrace 4.16 does."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DDTRACE_RUN = os.path.join(os.path.dirname(sys.executable), "ddtrace-run")

# A program that reports what it saw: argv, the log line's correlation
# fields, and the spans the tracer completed (in-memory writer).
PROGRAM = """
import json, logging, sys
from ddtrace import tracer
from tracer_helpers import take_traces
logging.basicConfig(format="%(dd.service)s|%(dd.env)s|%(dd.trace_id)s|%(message)s",
                    level=logging.INFO, stream=sys.stdout)
with tracer.trace("work") as span:
    logging.getLogger("app").info("hello")
print(json.dumps({"argv": sys.argv, "trace_id": span.trace_id,
                  "spans": [s for t in take_traces(tracer) for s in t]}))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
"""


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_CT_"))}
    env.update({"_CT_IN_MEMORY_WRITER": "1", "DD_TRACE_AGENT_URL": "http://127.0.0.1:9",
                "DD_SERVICE": "billing", "DD_ENV": "staging", "PYTHONPATH": HERE})
    env.update(extra)
    return env


def run(args, cwd, **extra_env):
    return subprocess.run(args, cwd=cwd, env=environment(**extra_env),
                          capture_output=True, text=True, timeout=30)


def report(proc):
    lines = proc.stdout.strip().splitlines()
    return lines[0], json.loads(lines[-1])


@pytest.fixture
def program(tmp_path):
    (tmp_path / "app.py").write_text(PROGRAM)
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PROGRAM)
    return tmp_path


def check_traced_run(proc, expected_argv, status):
    assert proc.returncode == status, proc.stderr
    log_line, seen = report(proc)
    assert seen["argv"] == expected_argv
    trace_id = seen["trace_id"]
    formatted = "%032x" % trace_id if trace_id >> 64 else str(trace_id)
    assert log_line == "billing|staging|%s|hello" % formatted
    (span,) = seen["spans"]
    assert span["service"] == "billing" and span["meta"]["env"] == "staging"


def test_script_form_keeps_argv_and_exit_status(program):
    proc = run([DDTRACE_RUN, sys.executable, "app.py", "3", "--flag", "x y"], program)
    check_traced_run(proc, ["app.py", "3", "--flag", "x y"], 3)


def test_module_form(program):
    proc = run([DDTRACE_RUN, sys.executable, "-m", "mypkg", "--verbose"], program)
    check_traced_run(proc, [str(program / "mypkg" / "__main__.py"), "--verbose"], 0)


def test_import_ddtrace_auto(program):
    (program / "auto_app.py").write_text("import ddtrace.auto\n" + PROGRAM)
    proc = run([sys.executable, "auto_app.py", "0"], program)
    check_traced_run(proc, ["auto_app.py", "0"], 0)


def test_without_ddtrace_run_logs_are_not_injected(program):
    proc = run([sys.executable, "app.py"], program)
    assert "Formatting field not found in record" in proc.stderr


def test_logs_injection_can_be_turned_off(program):
    proc = run([DDTRACE_RUN, sys.executable, "app.py"], program, DD_LOGS_INJECTION="false")
    assert "Formatting field not found in record" in proc.stderr
    assert proc.returncode == 0


def test_site_sitecustomize_still_runs(program, tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text("import os\nos.environ['SITE_RAN'] = 'yes'\n")
    (program / "show.py").write_text("import os, sys\nprint(os.environ.get('SITE_RAN'), "
                                     "'ddtrace.auto' in sys.modules)\n")
    proc = run([DDTRACE_RUN, sys.executable, "show.py"], program,
               PYTHONPATH=os.pathsep.join([str(site), HERE]))
    assert proc.stdout.strip() == "yes True", proc.stderr


def test_help_says_libraries_are_not_instrumented():
    proc = run([DDTRACE_RUN, "--help"], HERE)
    assert proc.returncode == 0
    assert "does NOT auto-instrument libraries" in proc.stdout
    assert "ddtrace-run python app.py" in proc.stdout


def test_no_command_prints_help_and_fails():
    proc = run([DDTRACE_RUN], HERE)
    assert proc.returncode == 1 and "usage: ddtrace-run" in proc.stdout


def test_unknown_command_fails_cleanly():
    proc = run([DDTRACE_RUN, "no-such-program-xyz"], HERE)
    assert proc.returncode == 127
    assert "command not found" in proc.stderr and "Traceback" not in proc.stderr


def test_auto_module_patches_the_default_integrations():
    import ddtrace.auto
    from ddtrace import _monkey
    assert "logging" in _monkey._get_patched_modules()
