"""What both benchmark apps share: the manual span of the /users route,
written for the tracer the run uses (``BENCH_TRACING``):

- ``none``: no tracer at all (the baseline): a no-op context manager.
- ``ddtrace``: ``tracer.trace()`` of the ``ddtrace`` installed (ctrace's or
  the real one, under its ``ddtrace-run``, which instruments the framework).
- ``otel-sdk`` / ``otel-ctrace``: an OpenTelemetry span, the framework
  instrumented by opentelemetry-instrumentation-*, behind the OTel SDK's
  TracerProvider (BatchSpanProcessor, exporter that discards) or ctrace's.
"""
import contextlib
import os

TRACING = os.environ.get("BENCH_TRACING", "none")


def _setup():
    if TRACING == "ddtrace":
        from ddtrace import tracer
        return lambda: tracer.trace("load_user", resource="load")
    if TRACING.startswith("otel"):
        from opentelemetry import trace
        if TRACING == "otel-sdk":
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

            class Discard(SpanExporter):
                def export(self, spans):
                    return SpanExportResult.SUCCESS

            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(Discard()))
        else:
            from ddtrace.opentelemetry import TracerProvider
            provider = TracerProvider()
        trace.set_tracer_provider(provider)
        otel = trace.get_tracer("bench")
        return lambda: otel.start_as_current_span("load_user")
    return contextlib.nullcontext


manual_span = _setup()


def instrumented(app_kind: str, app):
    """The app, with OTel's instrumentation when the run uses OTel."""
    if not TRACING.startswith("otel"):
        return app
    if app_kind == "flask":
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        FlaskInstrumentor().instrument_app(app)
    else:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        FastAPIInstrumentor.instrument_app(app)
    return app


def user(user_id: int) -> dict:
    with manual_span():
        return {"id": user_id, "name": "user-%d" % user_id}
