"""``import ddtrace.auto``: what ``ddtrace-run`` does, from inside the program.

Import it first thing in the program. It makes the global tracer (which
reads the ``DD_*`` environment: service, env, version, agent, sampling,
propagation) and patches ddtrace's default integrations (``ddtrace._monkey``:
web frameworks, HTTP clients, databases, logging...) as each library is
imported, unless ``DD_TRACE_ENABLED`` is false. ``DD_PATCH_MODULES``
(``flask:false,redis:true``) and ``DD_TRACE_<NAME>_ENABLED`` choose.
"""
from ddtrace import _bootstrap

_bootstrap.install()
