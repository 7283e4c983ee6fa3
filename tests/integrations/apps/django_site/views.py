import logging
import sys

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views import View
from ddtrace import tracer

logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="LOG %(message)s trace_id=%(dd.trace_id)s span_id=%(dd.span_id)s")
log = logging.getLogger("app")


class TimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def function_middleware(get_response):
    def middleware(request):
        return get_response(request)
    return middleware


def missing(request):
    raise Http404("no such thing")


def user(request, user_id):
    log.info("user %d", user_id)
    with tracer.trace("lookup", resource="user"):
        pass
    tracer.current_root_span().set_tag("user.id", str(user_id))
    return render(request, "user.html", {"name": "user%d" % user_id})


def error(request):
    log.info("about to fail")
    raise ValueError("view failed")


def status(request, code):
    return HttpResponse("status", status=code)


class ClassView(View):
    def get(self, request):
        return HttpResponse("class")
