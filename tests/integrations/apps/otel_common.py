"""What the OTel-instrumented test apps share: ddtrace's TracerProvider
behind the OpenTelemetry API (as a user wires it in code, no ddtrace-run),
log correlation on, and the view's own work: a manual ddtrace span with an
OTel span inside and a log line, so a test sees every kind of parent."""
import logging
import sys

# ddtrace first: real ddtrace reads DD_TRACE_OTEL_ENABLED on import and then
# points OTel at its runtime context before opentelemetry.context loads.
from ddtrace import patch, tracer  # noqa: E402
from ddtrace.opentelemetry import TracerProvider  # noqa: E402
from opentelemetry import trace  # noqa: E402

trace.set_tracer_provider(TracerProvider())
patch(logging=True)
logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="%(message)s [dd.trace_id=%(dd.trace_id)s dd.span_id=%(dd.span_id)s]")
log = logging.getLogger("app")
otel_tracer = trace.get_tracer("app")


def load_user(user_id: int) -> dict:
    with tracer.trace("load_user", resource="load"):
        log.info("loading user %d", user_id)
        with otel_tracer.start_as_current_span("render", attributes={"user.id": user_id}):
            pass
    return {"id": user_id}
