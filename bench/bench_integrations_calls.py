"""Python calls and CPU instructions per traced web request, in process.

    .venv/bin/python bench/bench_integrations_calls.py [--no-callgrind]
        [--workloads flask_hello,flask_users,fastapi_hello,fastapi_users]
        [--python .venv-ddtrace/bin/python]

Wall clock on a shared machine moves by more than the integrations' whole
cost; these two counts do not, so they show what a change to the
integrations' Python saves:

- calls: cProfile's count of Python (and C) function calls per request,
  traced (``import ddtrace.auto`` first, as ``ddtrace-run`` does) minus
  the same app untraced, over 200 requests after a warm-up;
- instructions: valgrind callgrind's total instructions of a child making
  ``N2`` requests minus one making ``N1`` (start-up cancels), divided by
  ``N2 - N1``, traced minus untraced.

The apps are bench/apps' (the routes of bench_app.py), called directly: a
WSGI call of the Flask app with a copied environ, an ASGI call of the
FastAPI app in one event loop, so no server or socket is counted. The
tracer sends to a closed port with a writer interval of an hour, so the
figure is the request path only (spans are still finished and buffered).
"""
import argparse
import io
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = {
    "flask_hello": ("flask", "/hello"),
    "flask_users": ("flask", "/users/7"),
    "fastapi_hello": ("fastapi", "/hello"),
    "fastapi_users": ("fastapi", "/users/7"),
}
#: besides bench_app.py's QUIET (the parent adds it): no delivery during the run
DELIVERY = {
    "DD_TRACE_AGENT_URL": "http://127.0.0.1:9",
    "DD_TRACE_WRITER_INTERVAL_SECONDS": "3600",
}


# ---- child side -------------------------------------------------------

def _flask_caller(path):
    from werkzeug.test import EnvironBuilder

    import bench_flask
    template = EnvironBuilder(path=path, headers={"User-Agent": "bench"}).get_environ()

    def start_response(status, headers, exc_info=None):
        return None

    def call():
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = bench_flask.app(environ, start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()
    return call


def _fastapi_caller(path):
    import asyncio

    import bench_fastapi
    loop = asyncio.new_event_loop()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"localhost"), (b"user-agent", b"bench")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    def call():
        loop.run_until_complete(bench_fastapi.app(dict(scope), receive, send))
    return call


def child(workload, traced, mode, requests):
    if traced:
        import ddtrace.auto  # noqa: F401  (what ddtrace-run does)
    os.environ["BENCH_TRACING"] = "ddtrace" if traced else "none"
    sys.path.insert(0, os.path.join(HERE, "apps"))
    kind, path = WORKLOADS[workload]
    call = (_flask_caller if kind == "flask" else _fastapi_caller)(path)
    for _ in range(20):  # warm-up: caches, lazy imports
        call()
    if mode == "profile":
        import cProfile
        import pstats
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            call()
        profile.disable()
        total = sum(row[1] for row in pstats.Stats(profile).stats.values())
        print("calls %d" % total)
    else:
        for _ in range(requests):
            call()
    sys.stdout.flush()
    os._exit(0)


# ---- parent side ------------------------------------------------------

def child_env():
    sys.path.insert(0, HERE)
    from bench_app import QUIET  # (parent only: it imports the test helpers)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    env.update(QUIET)
    env.update(DELIVERY)
    return env


def run_child(python, workload, traced, mode, requests, callgrind=False):
    argv = [python, os.path.abspath(__file__), "--child", workload, "--mode", mode,
            "--requests", str(requests)] + (["--traced"] if traced else [])
    if not callgrind:
        out = subprocess.run(argv, env=child_env(), capture_output=True, text=True, check=True).stdout
        return int(re.search(r"calls (\d+)", out).group(1))
    with tempfile.TemporaryDirectory() as tmp:
        outfile = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile] + argv,
                       env=child_env(), capture_output=True, text=True, check=True)
        with open(outfile) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def calls_per_request(python, workload, requests=200):
    traced = run_child(python, workload, True, "profile", requests)
    untraced = run_child(python, workload, False, "profile", requests)
    return (traced - untraced) / requests


def instructions_per_request(python, workload, n1=50, n2=350):
    def per_request(traced):
        low = run_child(python, workload, traced, "loop", n1, callgrind=True)
        high = run_child(python, workload, traced, "loop", n2, callgrind=True)
        return (high - low) / (n2 - n1)
    return per_request(True) - per_request(False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="profile", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.traced, args.mode, args.requests)
    print("| workload | Python calls / request | instructions / request |")
    print("|---|---|---|")
    for workload in args.workloads.split(","):
        calls = calls_per_request(args.python, workload)
        instructions = "-" if args.no_callgrind else "%.0f k" % (instructions_per_request(args.python, workload) / 1000)
        print("| %s | %.0f | %s |" % (workload, calls, instructions), flush=True)


if __name__ == "__main__":
    main()
