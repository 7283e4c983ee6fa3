"""Django's WSGI handler under gunicorn, real ddtrace 4.16 against ctrace:
the same project (apps/django_site: a middleware of Django's, one of its
own, function and class-based views, a template), the same requests, the
span trees compared field by field."""
import re

import pytest

import differential
from differential import assert_same_trees
from web import drive, gunicorn, spans_named, as_ctrace_would

PATHS = ["/users/3?a=1&password=hunter2", "/error", "/status/503", "/class", "/nothere", "/missing"]
ENV = {"DD_DJANGO_INSTRUMENT_TEMPLATES": "true"}


@pytest.fixture(scope="module")
def runs():
    port = differential.free_port()
    traces = {}
    for tracer in ("ddtrace", "ctrace"):
        with gunicorn(tracer, "django_site.wsgi:application", env=ENV, port=port) as server:
            drive(server, PATHS)
        traces[tracer], traces[tracer + ".log"] = server.traces(), server.output
    return traces


def test_log_lines_in_a_django_view_carry_the_views_span(runs):
    views = {str(s["span_id"]): s for s in spans_named(runs["ctrace"], "django.view")}
    lines = re.findall(r"LOG (user 3|about to fail) trace_id=\w+ span_id=(\d+)", runs["ctrace.log"])
    assert len(lines) == 2
    assert {views[span_id]["resource"] for _, span_id in lines} == {"django_site.views.user", "django_site.views.error"}


def test_django_request_trees_are_ddtraces(runs):
    assert len(runs["ddtrace"]) == len(runs["ctrace"]) == len(PATHS)
    assert_same_trees(as_ctrace_would(runs["ddtrace"], {"lookup"}), runs["ctrace"])


def test_django_request_is_the_web_root_named_by_route(runs):
    roots = {s["resource"]: s for s in spans_named(runs["ctrace"], "django.request")}
    assert set(roots) == {"GET users/<int:user_id>", "GET error", "GET status/<int:code>", "GET class", "GET 404",
                          "GET missing"}
    user = roots["GET users/<int:user_id>"]
    assert user["meta"]["user.id"] == "3" and user["meta"]["http.url"].endswith("/users/3?a=1&<redacted>")
    assert roots["GET error"]["error"] == 1 and roots["GET 404"]["error"] == 0


def test_template_render_span_is_a_child_of_the_view(runs):
    by_id = {s["span_id"]: s for t in runs["ctrace"] for s in t}
    render = [s for s in spans_named(runs["ctrace"], "django.template.render") if s["resource"] == "user.html"]
    assert len(render) == 1 and render[0]["type"] == "template"
    assert by_id[render[0]["parent_id"]]["name"] == "django.view"
