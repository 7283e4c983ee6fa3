"""The ingest benchmark's payload is as heavy as what real ddtrace sends for
the same trace shape: its figures would mean nothing on a payload much
lighter (flattering) or much heavier (as it once was, 433 B per span
against ddtrace's 363) than the real one. bench/payload_shape.py does the
capture."""
import os
import sys

from agent_harness import ROOT

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import payload_shape  # noqa: E402


def test_benchmark_payload_weighs_what_real_ddtrace_sends():
    rows = {name: (spans, per_span, entries) for name, spans, per_span, entries in payload_shape.shapes()}
    assert 'ddtrace (.venv-ddtrace)' in rows, 'real ddtrace is missing: make peers'
    spans, ddtrace_bytes, ddtrace_entries = rows['ddtrace (.venv-ddtrace)']
    _, bench_bytes, bench_entries = rows['benchmark payload']
    assert spans == payload_shape.TRACES * 10
    assert abs(bench_bytes - ddtrace_bytes) <= 0.1 * ddtrace_bytes, (bench_bytes, ddtrace_bytes)
    assert abs(bench_entries - ddtrace_entries) <= 1, (bench_entries, ddtrace_entries)
