"""Loaded by the interpreter ``ddtrace-run`` starts, before program code.

It installs ctrace (``import ddtrace.auto``), then loads the
``sitecustomize`` that ours shadows, if the environment has one, so a
site's own start-up code still runs.
"""
import importlib.util
import os
import sys


def _load_shadowed_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        if os.path.abspath(entry or os.curdir) == here:
            continue
        candidate = os.path.join(entry or os.curdir, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_shadowed_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            return


try:
    import ddtrace.auto  # noqa: F401
finally:
    _load_shadowed_sitecustomize()
