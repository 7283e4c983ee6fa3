"""CPU instructions per request of the Flask app under gunicorn (or the
FastAPI app under uvicorn), all of the worker's threads, traced minus
untraced.

    .venv/bin/python bench/bench_server_calls.py [--requests 200]
        [--app flask|fastapi] [--systems baseline,ctrace,ddtrace]
        [--routes /hello,/users/7]

bench_integrations_calls.py counts a WSGI call made in process; this
counts what bench_app.py times, the real server: gunicorn's sync worker
(its environ, its socket reads and writes, its ``close()`` of the
response) or uvicorn's event loop and HTTP protocol, the tracer's writer thread encoding and sending to a
recording agent at its default interval, ``ddtrace-run``'s start-up
patching. The worker runs under valgrind's callgrind; after a warm-up
``callgrind_control --zero`` resets its counters, the client makes
``--requests`` sequential requests (a connection each, as bench_app.py),
``callgrind_control --dump`` writes the counts, divided by the requests.
Instruction counts hold still on a loaded machine, where bench_app.py's
CPU times move by more than the difference being measured.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_app import QUIET, ROOT, SYSTEMS, VENVS, app_argv, request  # noqa: E402
from differential import RecordingAgent, free_port, stop_process_group  # noqa: E402


def _callgrind_control(*args):
    return subprocess.run(["callgrind_control"] + list(args), capture_output=True, text=True,
                          timeout=300).stdout


def _worker_pid(app, master):
    """gunicorn serves from the worker it forks; uvicorn (and ddtrace-run,
    which execs it) from the process itself."""
    if app != "flask":
        return master
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (master, master)) as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            children = []
        if len(children) == 1:
            return children[0]
        time.sleep(0.2)
    raise SystemExit("gunicorn did not fork its worker")


def _dumped_total(outdir, pid, before):
    """Instructions of the dump callgrind wrote for ``pid`` after
    ``before`` dumps (files ``cg.<pid>.<n>``)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dumps = sorted(glob.glob(os.path.join(outdir, "cg.%d.*" % pid)))
        if len(dumps) > before:
            path = dumps[-1]
            time.sleep(0.5)  # the file is written before the tool answers
            with open(path) as f:
                for line in f:
                    if line.startswith(("totals:", "summary:")):
                        return int(line.split()[1])
        time.sleep(0.2)
    raise SystemExit("callgrind wrote no dump for %d" % pid)


def instructions_per_request(app, system, routes, requests, warmup):
    venv, ddtrace_run, tracing = SYSTEMS[system]
    venv_bin = os.path.join(ROOT, VENVS[venv], "bin")
    agent = RecordingAgent()
    agent.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "_CT_"))}
    env.update(QUIET, BENCH_TRACING=tracing, PYTHONPATH=os.path.join(HERE, "apps"),
               DD_TRACE_AGENT_URL=agent.url)
    results = {}
    with tempfile.TemporaryDirectory() as outdir:
        argv = (["valgrind", "--tool=callgrind", "--trace-children=yes",
                 "--callgrind-out-file=" + os.path.join(outdir, "cg.%p")]
                + ([os.path.join(venv_bin, "ddtrace-run")] if ddtrace_run else [])
                + app_argv(app, venv_bin, port)
                + (["--timeout", "600"] if app == "flask" else []))  # valgrind is slow: no worker restart
        proc = subprocess.Popen(argv, env=env, cwd=os.path.join(HERE, "apps"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    request(port, "/hello")
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("%s: %s did not answer" % (system, app))
                    time.sleep(0.5)
            worker = _worker_pid(app, proc.pid)
            dumps = 0
            for route in routes:
                for _ in range(warmup):
                    request(port, route)
                time.sleep(1.5)  # the warm-up's spans sent (1 s writer interval)
                _callgrind_control("--zero", str(worker))
                for _ in range(requests):
                    request(port, route)
                time.sleep(1.5)  # and these
                _callgrind_control("--dump", str(worker))
                request(port, route)  # wakes a worker asleep in accept()
                results[route] = _dumped_total(outdir, worker, dumps) / requests
                dumps += 1
        finally:
            stop_process_group(proc, timeout=120)
            agent.stop()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--app", choices=("flask", "fastapi"), default="flask")
    parser.add_argument("--systems", default="baseline,ctrace,ddtrace")
    parser.add_argument("--routes", default="/hello,/users/7")
    args = parser.parse_args()
    routes = args.routes.split(",")
    counts = {}
    for system in args.systems.split(","):
        counts[system] = instructions_per_request(args.app, system, routes, args.requests, args.warmup)
        print("%s: %s" % (system, ", ".join("%s %.0f k" % (r, counts[system][r] / 1000) for r in routes)),
              flush=True)
    if "baseline" not in counts:
        return 0
    print("\n| route | untraced | ctrace | ddtrace | ddtrace / ctrace |")
    print("|---|---|---|---|---|")
    for route in routes:
        base = counts["baseline"][route]
        extra = {s: counts[s][route] - base for s in counts if s != "baseline"}
        ratio = "%.1f×" % (extra["ddtrace"] / extra["ctrace"]) if "ddtrace" in extra and "ctrace" in extra else "-"
        print("| %s | %.0f k | %s | %s | %s |" % (
            route, base / 1000, "+%.0f k" % (extra["ctrace"] / 1000) if "ctrace" in extra else "-",
            "+%.0f k" % (extra["ddtrace"] / 1000) if "ddtrace" in extra else "-", ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
