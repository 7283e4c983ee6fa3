"""The Starlette app of the differential tests, served by uvicorn."""
from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from ddtrace import tracer


class Timing(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        with tracer.trace("middleware.timing"):
            return await call_next(request)


async def home(request):
    return PlainTextResponse("home")


async def user(request):
    return JSONResponse({"id": request.path_params["user_id"]})


async def item(request):
    return JSONResponse({"item": request.path_params["item"]})


async def boom(request):
    raise RuntimeError("kaput")


async def status(request):
    return PlainTextResponse("status", status_code=int(request.path_params["code"]))


def job():
    with tracer.trace("job.inner"):
        pass


async def background(request):
    tasks = BackgroundTasks()
    tasks.add_task(job)
    return PlainTextResponse("queued", background=tasks)


items = Starlette(routes=[Route("/items/{item}", item)])
app = Starlette(
    routes=[
        Route("/", home),
        Route("/users/{user_id:int}", user, methods=["GET"]),
        Route("/boom", boom),
        Route("/status/{code}", status),
        Route("/background", background),
        Mount("/sub", app=items),
    ],
    middleware=[Middleware(Timing)],
)
