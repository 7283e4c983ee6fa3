"""requests (on by default under ddtrace-run): a ``requests.request``
client span per request sent (each redirect hop is its own span), with
the trace context injected into its headers. ``config.requests``:
``split_by_domain`` (service = host), ``distributed_tracing``, ``service``.
``TracedSession`` is a Session traced even when requests is not patched."""
from ddtrace.contrib.requests.patch import TracedSession

__all__ = ["TracedSession"]
