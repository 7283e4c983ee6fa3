"""_ctrace.TracedCall, the C wrapper integrations give wrapt: the span
around the call, exceptions recorded and re-raised unchanged, the span
finished on every path, and the patch as transparent as wrapt makes it
(binding, inspect.signature, pickling by reference)."""
import inspect
import pickle
import sys
import types

import pytest

from ddtrace import _ctrace, config
from ddtrace.contrib import _safety, _web, trace_utils
from tracer_helpers import span_named, take_spans

config._add("traced_call_test", dict(_default_service="traced-call-svc"))
INT_CONFIG = config.traced_call_test


def traced(name, **options):
    return _web.traced_wrapper(INT_CONFIG, name, **options)


class Greeter:
    def __init__(self, word):
        self.word = word

    def greet(self, who, punctuation="!"):
        return "%s %s%s" % (self.word, who, punctuation)


def _module_with_function():
    """A module in sys.modules whose function is wrapped (pickle finds
    functions by module and qualified name)."""
    module = types.ModuleType("traced_call_target")

    def add(a: int, b: int = 2, *, scale: float = 1.0) -> float:
        """Adds."""
        return (a + b) * scale

    add.__module__ = module.__name__
    add.__qualname__ = "add"
    module.add = add
    module.Greeter = type("Greeter", (Greeter,), {"__module__": module.__name__})
    module.Greeter.__qualname__ = "Greeter"
    sys.modules[module.__name__] = module
    return module


@pytest.fixture
def target():
    module = _module_with_function()
    yield module
    del sys.modules[module.__name__]


def test_span_around_the_call_with_service_and_fixed_tags(tracer, target):
    trace_utils.wrap(target, "add", traced("test.add", resource="adding", tags={"test.kind": "sum"}))
    with tracer.trace("outer"):
        assert target.add(1, 2, scale=2.0) == 6.0
    spans = take_spans()
    span, outer = span_named(spans, "test.add"), span_named(spans, "outer")
    assert span["parent_id"] == outer["span_id"]
    assert span["resource"] == "adding"
    assert span["service"] == "traced-call-svc"
    assert span["meta"]["component"] == "traced_call_test"
    assert span["meta"]["test.kind"] == "sum"
    assert span["error"] == 0


def test_the_span_is_active_during_the_call(tracer, target):
    seen = []
    module = target
    module.probe = lambda: seen.append(tracer.current_span().name)
    trace_utils.wrap(module, "probe", traced("test.probe"))
    module.probe()
    assert seen == ["test.probe"]
    assert tracer.current_span() is None  # finished: its parent (none) is active again


def test_exception_recorded_and_reraised_unchanged(tracer, target):
    error = ValueError("bad input")

    def fail(*args):
        raise error

    target.fail = fail
    trace_utils.wrap(target, "fail", traced("test.fail"))
    with pytest.raises(ValueError) as caught:
        target.fail(1)
    assert caught.value is error
    assert caught.value.__traceback__ is not None
    span = span_named(take_spans(), "test.fail")
    assert span["error"] == 1
    assert span["meta"]["error.type"] == "builtins.ValueError"
    assert span["meta"]["error.message"] == "bad input"
    assert "in fail" in span["meta"]["error.stack"]
    assert tracer.current_span() is None


def test_ignored_exception_types_pass_through_unrecorded(tracer, target):
    def not_found():
        raise KeyError("missing")

    target.not_found = not_found
    trace_utils.wrap(target, "not_found", traced("test.not_found", ignored=(KeyError,)))
    with pytest.raises(KeyError):
        target.not_found()
    span = span_named(take_spans(), "test.not_found")
    assert span["error"] == 0 and "error.type" not in span["meta"]


def test_base_exceptions_finish_the_span_too(tracer, target):
    def interrupted():
        raise KeyboardInterrupt

    target.interrupted = interrupted
    trace_utils.wrap(target, "interrupted", traced("test.interrupted"))
    with pytest.raises(KeyboardInterrupt):
        target.interrupted()
    assert span_named(take_spans(), "test.interrupted")["error"] == 1
    assert tracer.current_span() is None


def test_disabled_tracer_calls_through_without_a_span(tracer, target):
    trace_utils.wrap(target, "add", traced("test.add"))
    tracer.enabled = False
    assert target.add(2) == 4.0
    tracer.enabled = True
    assert take_spans() == []


def test_methods_bind_as_before(tracer, target):
    trace_utils.wrap(target, "Greeter.greet", traced("test.greet"))
    greeter = target.Greeter("hello")
    assert greeter.greet("you") == "hello you!"
    assert target.Greeter.greet(greeter, "them", punctuation="?") == "hello them?"
    bound = greeter.greet
    assert bound.__self__ is greeter
    assert bound("all") == "hello all!"
    assert [s["name"] for s in take_spans()] == ["test.greet"] * 3


def test_signature_name_and_doc_unchanged(tracer, target):
    original = target.add
    before = inspect.signature(original)
    trace_utils.wrap(target, "add", traced("test.add"))
    assert target.add is not original
    assert inspect.signature(target.add) == before
    assert target.add.__name__ == "add" and target.add.__doc__ == "Adds."
    assert target.add.__wrapped__ is original
    assert inspect.signature(target.Greeter("x").greet) == inspect.signature(Greeter("x").greet)


def test_wrapped_function_and_method_pickle_by_reference(tracer, target):
    trace_utils.wrap(target, "add", traced("test.add"))
    trace_utils.wrap(target, "Greeter.greet", traced("test.greet"))
    assert pickle.loads(pickle.dumps(target.add)) is target.add
    unbound = pickle.loads(pickle.dumps(target.Greeter.greet))
    greeter = target.Greeter("hi")
    assert unbound(greeter, "you") == "hi you!"
    bound = pickle.loads(pickle.dumps(greeter.greet))
    assert bound("me") == "hi me!" and bound.__self__.word == "hi"
    assert [s["name"] for s in take_spans()] == ["test.greet"] * 2


def test_service_follows_the_integration_settings(tracer, target):
    trace_utils.wrap(target, "add", traced("test.add"))
    target.add(1)
    INT_CONFIG["service"] = "renamed"
    try:
        target.add(1)
        config.service_mapping["renamed"] = "mapped"
        target.add(1)
    finally:
        INT_CONFIG["service"] = None
        config.service_mapping.pop("renamed", None)
    target.add(1)
    spans = take_spans()
    assert [s["service"] for s in spans] == ["traced-call-svc", "renamed", "mapped", "traced-call-svc"]
    assert spans[2]["meta"]["_dd.svc_src"] == "opt.service_mapping"


def test_code_origin_named_on_the_span_and_the_root_once(tracer, target):
    origin = (("_dd.code_origin.type", "entry"), ("_dd.code_origin.frames.0.method", "add"))
    inner = (("_dd.code_origin.type", "entry"), ("_dd.code_origin.frames.0.method", "inner"))
    target.inner = lambda: None
    trace_utils.wrap(target, "inner", traced("test.inner", origin=inner))

    def outer_view():
        target.inner()
    target.outer_view = outer_view
    trace_utils.wrap(target, "outer_view", traced("test.view", origin=origin))
    with tracer.trace("request"):
        target.outer_view()
    spans = take_spans()
    root, view = span_named(spans, "request"), span_named(spans, "test.view")
    assert root["meta"]["_dd.code_origin.frames.0.method"] == "add"
    assert view["meta"]["_dd.code_origin.frames.0.method"] == "add"
    assert "_dd.code_origin.type" not in span_named(spans, "test.inner")["meta"]


def test_a_failure_of_the_tracing_is_counted_and_the_call_still_runs(tracer, target):
    def broken_resolver(int_config):
        raise RuntimeError("resolver bug")

    wrapper = _ctrace.TracedCall(tracer, INT_CONFIG, broken_resolver, _safety.failed, "test.broken")
    trace_utils.wrap(target, "add", wrapper)
    before = _safety.errors["traced_call_test"]
    assert target.add(3) == 5.0
    assert _safety.errors["traced_call_test"] == before + 1
    assert take_spans() == []
    assert tracer.current_span() is None


def test_bad_tags_are_refused_at_construction(tracer):
    with pytest.raises(TypeError):
        _ctrace.TracedCall(tracer, INT_CONFIG, _web.resolved_service, _safety.failed, "x", tags=["a"])
    with pytest.raises(TypeError):
        _ctrace.TracedCall(object(), INT_CONFIG, _web.resolved_service, _safety.failed, "x")


def test_called_other_than_by_wrapt_raises_type_error(tracer):
    wrapper = traced("test.direct")
    with pytest.raises(TypeError):
        wrapper(len, None, ["not", "a", "tuple"], {})
    assert wrapper(len, None, ("abc",), {}) == 3
    assert span_named(take_spans(), "test.direct")


def test_mapped_result_maps_each_item_lazily(tracer, target):
    seen = []
    target.items = lambda n: iter(range(n))
    trace_utils.wrap(target, "items", _ctrace.MappedResult(lambda item: seen.append(item) or item * 10))
    result = target.items(3)
    assert seen == []  # nothing mapped before it is iterated
    assert list(result) == [0, 10, 20] and seen == [0, 1, 2]
    error = OSError("no items")
    target.broken = lambda: (_ for _ in ()).throw(error)
    trace_utils.wrap(target, "broken", _ctrace.MappedResult(str))
    with pytest.raises(OSError) as caught:
        target.broken()
    assert caught.value is error


def test_references_stay_flat_over_many_calls_on_every_path(tracer, target):
    import gc
    message = "leak check %d" % id(tracer)

    def work(x, **kwargs):
        if x == 1:
            raise ValueError(message)  # (a new one: a re-raised instance keeps every old traceback)
        if x == 2:
            raise KeyError(x)
        return x

    target.work = work
    wrapper = traced("test.leak", tags={"k": "v"}, ignored=(KeyError,),
                     origin=(("_dd.code_origin.type", "entry"),))
    trace_utils.wrap(target, "work", wrapper)
    argument = object()

    def batch():
        for i in range(3000):
            x = i % 3
            try:
                target.work(x, extra=argument)
            except (ValueError, KeyError):
                pass
        tracer._take_payload(4)

    batch()
    gc.collect()
    watched = [wrapper, message, argument, INT_CONFIG, work, tracer]
    before = [sys.getrefcount(o) for o in watched]
    objects = len(gc.get_objects())
    for _ in range(5):
        batch()
    gc.collect()
    after = [sys.getrefcount(o) for o in watched]
    assert after == before
    assert len(gc.get_objects()) - objects < 50
