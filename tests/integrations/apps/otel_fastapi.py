"""FastAPI + opentelemetry-instrumentation-fastapi through ddtrace's provider."""
from otel_common import load_user

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

app = FastAPI()


@app.get("/users/{user_id}")
async def user(user_id: int):
    return load_user(user_id)


FastAPIInstrumentor.instrument_app(app)
