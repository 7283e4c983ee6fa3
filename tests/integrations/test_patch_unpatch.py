"""Each web and HTTP client integration patches when its library is
imported after ``ddtrace.patch()``, and ``unpatch`` puts every original
back (the library then runs untraced)."""
from web import run_in_ctrace

SCRIPT = r'''
import json
import ddtrace
from ddtrace import _monkey
ddtrace.patch(flask=True, django=True, jinja2=True, requests=True, urllib3=True)
import flask, jinja2, requests, urllib3
import django.urls, django.core.handlers.base, django.views.generic.base

targets = {
    "flask": [(flask.Flask, "wsgi_app"), (flask.Flask, "dispatch_request"), (flask, "render_template")],
    "django": [(django.core.handlers.base.BaseHandler, "get_response"), (django.urls, "path"),
               (django.views.generic.base.View, "as_view")],
    "jinja2": [(jinja2.Template, "render"), (jinja2.Environment, "compile")],
    "requests": [(requests.Session, "send")],
    "urllib3": [(urllib3.connectionpool.HTTPConnectionPool, "urlopen")],
}
from ddtrace.contrib.trace_utils import iswrapped
out = {"patched": {name: all(iswrapped(owner.__dict__[attr]) if isinstance(owner, type) else iswrapped(getattr(owner, attr))
                             for owner, attr in pairs) for name, pairs in targets.items()}}
for name in targets:
    _monkey.unpatch(name)
out["unpatched"] = {name: not any(iswrapped(owner.__dict__[attr]) if isinstance(owner, type) else iswrapped(getattr(owner, attr))
                                  for owner, attr in pairs) for name, pairs in targets.items()}
app = flask.Flask("after")
@app.route("/")
def index():
    return "plain"
out["answer"] = app.test_client().get("/").get_data(as_text=True)
print(json.dumps(out))
'''


def test_integrations_patch_on_import_and_unpatch_restores_the_originals():
    out, _, spans = run_in_ctrace(SCRIPT, spans=0)
    everything = {"flask": True, "django": True, "jinja2": True, "requests": True, "urllib3": True}
    assert out == {"patched": everything, "unpatched": everything, "answer": "plain"}
    assert not [s for s in spans if s["name"].startswith("flask.")]
