"""The C example program, built with the package, runs and reports its
finished spans."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "build" / "py" / "examples" / "example_c"


def test_c_example_exists_and_runs():
    assert EXAMPLE.exists(), "build with `make build` first: %s is missing" % EXAMPLE
    env = dict(os.environ, _CT_IN_MEMORY_WRITER="1", DD_TRACE_AGENT_URL="http://127.0.0.1:9")
    proc = subprocess.run([str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if "spans finished" in l]
    assert lines, proc.stdout
    count = int(lines[0].split("spans finished")[0].split()[-1])
    assert count > 0
