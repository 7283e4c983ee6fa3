"""Shared by the delivery tests: run a traced script in a fresh interpreter
(the tracer is configured from the environment at import time) against an
agent, and read back what it printed as JSON."""
import json
import os
import subprocess
import sys
import textwrap
from typing import Optional

#: Fast rounds so tests take seconds, not the default 1 s per round. A long
#: agent timeout: a payload that times out is retried (at-least-once, as
#: with every tracer), and the Python test agent on a loaded 2-core machine
#: can be slower than the default 2 s, which would show up as duplicates
#: in the exactly-once checks without being a tracer bug.
FAST = {"DD_TRACE_WRITER_INTERVAL_SECONDS": "0.05",
        "DD_TRACE_AGENT_TIMEOUT_SECONDS": "30"}


def run_traced(code: str, agent_url: Optional[str], env: Optional[dict] = None,
               timeout: float = 60.0, python: Optional[str] = None,
               check: bool = True, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs code under our ddtrace (or `python`) with the agent at agent_url."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("DD_", "_CT_"))}
    full_env.update(FAST)
    if agent_url:
        full_env["DD_TRACE_AGENT_URL"] = agent_url
    full_env.update(env or {})
    proc = subprocess.run([python or sys.executable, "-c", textwrap.dedent(code)],
                          env=full_env, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError("traced script failed (%d):\n%s\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr))
    return proc


def last_json(proc: subprocess.CompletedProcess):
    """The last line of stdout, as JSON (scripts print their report last)."""
    return json.loads(proc.stdout.strip().splitlines()[-1])


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The real ddtrace's interpreter (its own virtualenv, made by `make peers`).
DDTRACE_PYTHON = os.path.join(ROOT, ".venv-ddtrace", "bin", "python")
#: Keys ddtrace 4.x adds that ctrace deliberately does not (yet):
DDTRACE_ONLY_META = {
    "_dd.tags.process",  # process tags (entrypoint, workdir): a 4.x feature
                         # for the backend's service catalog, not the protocol
    "_dd.svc_src",       # where the service name came from (integration
                         # attribution); meaningless without integrations
}
DDTRACE_ONLY_METRICS = {
    "_dd.tracer_kr",     # ddtrace 4's record of the sampling rate it kept at,
                         # replaced in ctrace by the documented _dd.agent_psr
}
#: Keys ctrace adds that ddtrace 4.x leaves out:
CTRACE_ONLY_METRICS = {
    "_dd.agent_psr",     # the agent-rate sampling decision (mechanism 0/1), as
                         # the protocol documents it and ddtrace 2.x/3.x sent
}

#: What keeps the real ddtrace quiet and local in a test.
DDTRACE_QUIET = {"DD_TRACE_STARTUP_LOGS": "false", "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                 "DD_REMOTE_CONFIGURATION_ENABLED": "false"}


def run_both(code: str, env: Optional[dict] = None, agent_url: Optional[str] = "http://127.0.0.1:9",
             argv: Optional[list] = None, cwd: Optional[str] = None):
    """Runs the same snippet under ctrace and under the real ddtrace and
    returns (ours, theirs): what each printed last, as JSON. argv, when
    given, is sys.argv before the snippet runs (what service inference
    reads)."""
    if argv is not None:
        code = "import sys\nsys.argv = %r\n" % (argv,) + textwrap.dedent(code)
    results = []
    for python in (None, DDTRACE_PYTHON):
        proc = run_traced(code, agent_url, dict(DDTRACE_QUIET, **(env or {})), python=python,
                          cwd=cwd)
        results.append(last_json(proc))
    return results[0], results[1]
