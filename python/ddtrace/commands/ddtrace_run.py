"""``ddtrace-run``: start a program with ctrace set up, as ddtrace's does.

``ddtrace-run python app.py arg`` puts ``ddtrace/bootstrap`` first on
``PYTHONPATH`` and replaces itself (``os.execv``) with ``python app.py
arg``: the program keeps its pid, argv, stdin/stdout and exit status, and
its interpreter imports our ``sitecustomize`` (so ``ddtrace.auto``) before
the program's first line. The command can be any program that runs Python
(``python -m pkg``, ``gunicorn ...``).
"""
import argparse
import os
import shutil
import sys
from typing import List, Optional

USAGE = """
Run a Python command with ctrace (Datadog's ddtrace API over a C core) set
up: the DD_* environment is applied, and log records carry dd.trace_id,
dd.span_id, dd.service, dd.env and dd.version (DD_LOGS_INJECTION).

ctrace does NOT auto-instrument libraries: web frameworks, database and
HTTP clients are not traced on their own. Spans come from the ddtrace API
in your code (tracer.trace, tracer.wrap) or the OpenTelemetry API
(ddtrace.opentelemetry.TracerProvider). Profiling and AppSec are not
provided.

Examples
ddtrace-run python app.py
ddtrace-run python -m mypackage
ddtrace-run gunicorn myproject.wsgi
"""


def _parser() -> argparse.ArgumentParser:
    from ddtrace import __version__
    parser = argparse.ArgumentParser(
        prog="ddtrace-run", usage="ddtrace-run <your usual python command>",
        description=USAGE, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="Command string to execute.")
    parser.add_argument("-d", "--debug", action="store_true",
                        help="enable debug logging of the tracer (DD_TRACE_DEBUG=true)")
    parser.add_argument("-i", "--info", action="store_true",
                        help="print the tracer's configuration read from the environment")
    parser.add_argument("-v", "--version", action="version", version="%(prog)s " + __version__)
    return parser


def _bootstrap_dir() -> str:
    import ddtrace
    return os.path.join(os.path.dirname(os.path.abspath(ddtrace.__file__)), "bootstrap")


def _prepend_pythonpath(directory: str) -> None:
    current = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = directory + os.pathsep + current if current else directory


def _find_executable(command: str) -> Optional[str]:
    if os.path.isfile(command):
        return command
    return shutil.which(command)


def _print_info() -> None:
    from ddtrace._tracer import tracer
    context = tracer.get_log_correlation_context()
    print("agent_url: %s" % tracer._agent_url)
    print("enabled: %s" % tracer.enabled)
    for key in ("dd.service", "dd.env", "dd.version"):
        print("%s: %s" % (key[3:], context[key]))


def main(argv: Optional[List[str]] = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.info:
        _print_info()
        sys.exit(0)
    if not args.command:
        parser.print_help()
        sys.exit(1)
    if args.debug:
        os.environ["DD_TRACE_DEBUG"] = "true"
    executable = _find_executable(args.command[0])
    if executable is None:
        print("ddtrace-run: command not found: %r" % args.command[0], file=sys.stderr)
        parser.print_usage(sys.stderr)
        sys.exit(127)
    _prepend_pythonpath(_bootstrap_dir())
    try:
        os.execv(executable, [executable] + args.command[1:])
    except OSError as exc:
        print("ddtrace-run: cannot run %r: %s" % (executable, exc), file=sys.stderr)
        sys.exit(126)


if __name__ == "__main__":
    main()
