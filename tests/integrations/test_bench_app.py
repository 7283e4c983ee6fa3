"""bench/bench_app.py in its quick mode works end to end: every system's
server starts, answers, is measured and the table is printed."""
import os
import subprocess
import sys

from differential import ROOT


def test_quick_mode_measures_every_system_and_prints_the_table():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_app.py"), "--quick",
                           "--apps", "flask", "--rounds", "1", "--requests", "5"],
                          capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split(" | ") for line in proc.stdout.splitlines() if line.startswith("/")]
    assert [row[0] for row in rows] == ["/hello", "/users/7"]
    for row in rows:
        assert len(row) == 12
        # baseline µs, then the four systems' costs: numbers, measured
        assert float(row[3]) > 0
        assert all(cell.split()[0].lstrip("+-").isdigit() for cell in row[4:8])
