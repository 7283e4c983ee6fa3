"""The FastAPI app of bench_app.py (uvicorn, one process)."""
from bench_app_common import instrumented, user

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/hello", response_class=PlainTextResponse)
async def hello():
    return "hello"


@app.get("/users/{user_id}")
async def users(user_id: int):
    return user(user_id)


instrumented("fastapi", app)
