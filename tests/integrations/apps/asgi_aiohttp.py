"""The aiohttp server of the differential tests: python asgi_aiohttp.py PORT.
With DOWNSTREAM_URL set, /downstream calls it with aiohttp's client."""
import asyncio
import os
import sys

import aiohttp
from aiohttp import web

from ddtrace import tracer
from ddtrace.contrib.aiohttp import trace_app


async def home(request):
    return web.Response(text="home")


async def user(request):
    with tracer.trace("manual.lookup"):
        await asyncio.sleep(0)
    return web.json_response({"id": request.match_info["user_id"]})


async def boom(request):
    raise RuntimeError("kaput")


async def status(request):
    return web.Response(text="s", status=int(request.match_info["code"]))


async def stream(request):
    response = web.StreamResponse()
    await response.prepare(request)
    for chunk in (b"a", b"b", b"c"):
        with tracer.trace("stream.chunk"):
            await response.write(chunk)
    return response


async def downstream(request):
    async with aiohttp.ClientSession() as session:
        async with session.get(os.environ["DOWNSTREAM_URL"] + "/users/7") as answer:
            await answer.read()
            return web.json_response({"status": answer.status})


async def integration_errors(request):
    from ddtrace.contrib import _safety
    return web.json_response(dict(_safety.errors))


if os.environ.get("BREAK_TRACING"):
    # the failure test: ctrace's HTTP tagging raises on every call
    from ddtrace.contrib import trace_utils

    def broken(*args, **kwargs):
        raise RuntimeError("tagging failed")
    trace_utils.set_http_meta = broken

app = web.Application()
app.router.add_get("/", home)
app.router.add_get("/users/{user_id}", user)
app.router.add_get("/boom", boom)
app.router.add_get("/status/{code}", status)
app.router.add_get("/stream", stream)
app.router.add_get("/downstream", downstream)
app.router.add_get("/integration-errors", integration_errors)
app.router.add_static("/static", os.path.dirname(os.path.abspath(__file__)))
trace_app(app, service="aiohttp-web")

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
