"""The FastAPI app of the differential tests, served by uvicorn."""
import asyncio
import contextvars
import json
import os
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse

from ddtrace import tracer

app = FastAPI()
pool = ThreadPoolExecutor(2)
items = FastAPI()
app.mount("/sub", items)


def pool_work(n):
    with tracer.trace("pool.work", resource="work %d" % n):
        return n


def background_job(name):
    with tracer.trace("background.inner"):
        pass


@items.get("/items/{item}")
async def item(item: str):
    return {"item": item}


@app.get("/")
async def root():
    return {"ok": True}


@app.get("/users/{user_id}")
async def user(user_id: int, request: Request):
    with tracer.trace("manual.lookup", resource="lookup"):
        await asyncio.sleep(0)
    return {"id": user_id}


@app.post("/users/{user_id}")
async def update_user(user_id: int):
    return {"updated": user_id}


@app.get("/slow/{n}")
async def slow(n: int):
    """Many of these at once: each request's spans stay in its own trace."""
    with tracer.trace("slow.step", resource="step %d" % n):
        await asyncio.sleep(0.05)
        with tracer.trace("slow.inner", resource="inner %d" % n):
            await asyncio.sleep(0.01)
    return {"n": n}


@app.get("/sync")
def sync_route():
    with tracer.trace("sync.work"):
        return PlainTextResponse("sync")


@app.get("/boom")
async def boom():
    raise ValueError("boom")


@app.get("/unavailable")
async def unavailable():
    raise HTTPException(status_code=503, detail="down")


@app.get("/concurrency")
async def concurrency():
    async def child(n):
        with tracer.trace("task.child", resource="child %d" % n):
            await asyncio.sleep(0)
    await asyncio.create_task(child(1))
    # an explicit context= does not carry the active span: the asyncio patch does
    await asyncio.get_running_loop().create_task(child(2), context=contextvars.Context())
    await asyncio.get_running_loop().run_in_executor(pool, pool_work, 1)
    pool.submit(pool_work, 2).result()
    return {"ok": 1}


@app.get("/background")
async def background(tasks: BackgroundTasks):
    tasks.add_task(background_job, "x")
    return {"queued": 1}


@app.get("/downstream")
async def downstream():
    """Calls the service at DOWNSTREAM_URL with httpx (the chained test)."""
    async with httpx.AsyncClient() as client:
        answer = await client.get(os.environ["DOWNSTREAM_URL"] + "/users/7")
    return {"status": answer.status_code}


@app.get("/headers")
async def headers(request: Request):
    return dict(request.headers)


@app.get("/integration-errors")
async def integration_errors():
    from ddtrace.contrib import _safety
    return dict(_safety.errors) if getattr(_safety, "errors", None) is not None else {}


@app.get("/text/{word}")
async def text(word: str):
    return PlainTextResponse(json.dumps(word))
