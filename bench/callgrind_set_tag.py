"""Instructions per set_tag on the application thread, counted by callgrind.

    python bench/callgrind_set_tag.py [--iterations N] [--python PY]

Runs each workload under `valgrind --tool=callgrind --separate-threads=yes`
twice, for N and 2N spans, and takes the difference over N: interpreter
start-up, imports and warm-up cancel out, and what is left is the cost of
one span of the loop on the application thread (the writer thread is
counted apart). A span with five set_tag calls minus a bare span, over 5,
is one set_tag; the workloads are bench_spans.py's `start_finish` and
`tags5` (three strings, two ints, `http.status_code` among them). The
in-memory writer is used so that nothing is sent: the figure is the
tracer's own work.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r'''
import sys
sys.path.insert(0, sys.argv[3])
from ddtrace import tracer
from span_workloads import dd_workloads
n, workload = int(sys.argv[1]), dd_workloads(tracer)[sys.argv[2]]
workload(1000)  # warm up: lazy init, code paths
tracer._take_payload()
workload(n)
'''


def main_thread_instructions(python, n, workload):
    """Instructions of the application thread for one run of n spans."""
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, _CT_IN_MEMORY_WRITER="1", DD_TRACE_STARTUP_LOGS="false",
                   PYTHONHASHSEED="0")
        subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                        "--callgrind-out-file=%s/cg.out" % out, python, "-c", CHILD,
                        str(n), workload, HERE],
                       check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        main = sorted(glob.glob(out + "/cg.out-*"))[0]  # thread 1 is the application's
        with open(main) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
    raise RuntimeError("no totals in callgrind output")


def per_span(python, n, workload):
    return (main_thread_instructions(python, 2 * n, workload) -
            main_thread_instructions(python, n, workload)) / n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=100000)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    bare = per_span(args.python, args.iterations, "start_finish")
    tagged = per_span(args.python, args.iterations, "tags5")
    print("bare span %.0f, 5-tag span %.0f, set_tag %.0f instructions"
          % (bare, tagged, (tagged - bare) / 5))


if __name__ == "__main__":
    main()
