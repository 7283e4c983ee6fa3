"""The package is typed (py.typed, _ctrace.pyi for the C extension): mypy
checks user code against ddtrace's public API. Runs mypy as users would, on
the examples, on a program using every public name, and on a program with
mistakes mypy must catch."""
import glob
import os
import subprocess
import sys

import pytest

pytest.importorskip("mypy")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

GOOD = '''
import logging
from typing import List, Optional

import ddtrace
from ddtrace import tracer as old_style_tracer
from ddtrace.constants import AUTO_KEEP, ERROR_MSG, MANUAL_DROP_KEY, MANUAL_KEEP_KEY, USER_KEEP
from ddtrace.propagation.http import HTTPPropagator
from ddtrace.trace import BaseContextProvider, Context, Span, TraceFilter, Tracer, tracer


class DropHealthChecks(TraceFilter):
    def process_trace(self, trace: List[Span]) -> Optional[List[Span]]:
        return None if trace and trace[0].resource == "GET /health" else trace


@tracer.wrap(service="svc", resource="work")
def work(n: int) -> int:
    return n * 2


def handler(headers: dict) -> int:
    context: Context = HTTPPropagator.extract(headers)
    with tracer.start_span("web.request", child_of=context, activate=True) as span:
        span.set_tag(MANUAL_KEEP_KEY)
        span.set_tags({"http.method": "GET", "http.status_code": 200})
        span.set_metric("items", 3)
        span.set_link(trace_id=1, span_id=2, attributes={"k": "v"})
        span.context.set_baggage_item("user", "u1")
        out: dict = {}
        HTTPPropagator.inject(span.context, out)
        try:
            raise ValueError("boom")
        except ValueError as exc:
            span.record_exception(exc)
            span.set_exc_info(type(exc), exc, exc.__traceback__)
        root: Optional[Span] = tracer.current_root_span()
        assert root is None or root.trace_id == span.trace_id
        return work(span.error) + int(span.context.sampling_priority or AUTO_KEEP)


tracer.configure(trace_processors=[DropHealthChecks()])
provider: BaseContextProvider = tracer.context_provider
assert isinstance(old_style_tracer, Tracer) and USER_KEEP == 2
fields = tracer.get_log_correlation_context()
logging.getLogger().info("%s %s", fields["dd.trace_id"], ERROR_MSG + MANUAL_DROP_KEY)
ddtrace.patch(logging=True)
tracer.flush()
tracer.shutdown(timeout=1.0)
'''

BAD = '''
from ddtrace.trace import tracer
from ddtrace.propagation.http import HTTPPropagator

tracer.trace(42)
tracer.start_span("x", child_of="not a span")
tracer.current_span().set_metric("k", "text")
HTTPPropagator.inject("not a context", {})

@tracer.wrap()
def typed(n: int) -> int:
    return n

typed("wrong")
'''


def mypy(*paths):
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary",
                           "--cache-dir", os.devnull, "--hide-error-context", *paths],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_examples_and_the_public_api_type_check(tmp_path):
    program = tmp_path / "uses_everything.py"
    program.write_text(GOOD)
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))
    assert examples
    proc = mypy(str(program), *examples)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mistakes_are_reported(tmp_path):
    program = tmp_path / "mistakes.py"
    program.write_text(BAD)
    out = mypy(str(program)).stdout
    lines = [line for line in out.splitlines() if ": error:" in line]
    assert [int(line.split(":")[1]) for line in lines] == [5, 6, 7, 7, 8, 14], out
    assert 'incompatible type "str"; expected "int"' in lines[-1]
