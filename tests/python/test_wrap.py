"""@tracer.wrap() on every kind of callable: the span covers the call, the
await, or the whole iteration; metadata is kept; arguments are honoured."""
import asyncio
import inspect
import time

import pytest

from tracer_helpers import span_named, take_spans

SLEEP = 0.05


def test_wrap_plain_function_default_name_is_module_dot_function(tracer):
    @tracer.wrap()
    def compute(a, b=2):
        assert tracer.current_span().name == "%s.compute" % __name__
        return a + b

    assert compute(1) == 3
    assert compute(1, b=5) == 6
    spans = take_spans()
    assert [s["name"] for s in spans] == ["%s.compute" % __name__] * 2


def test_wrap_keeps_name_doc_wrapped_qualname_module_and_signature(tracer):
    def original(x: int, *, y: str = "a") -> str:
        """The docstring."""
        return y * x

    wrapped = tracer.wrap()(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "The docstring."
    assert wrapped.__wrapped__ is original
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__module__ == original.__module__
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped(2, y="b") == "bb"


@pytest.mark.parametrize("kind", ["coroutine", "generator", "asyncgen"])
def test_wrap_keeps_metadata_and_kind_of_special_functions(tracer, kind):
    if kind == "coroutine":
        async def original(x, y=1):
            """doc"""
            return x
        check = inspect.iscoroutinefunction
    elif kind == "generator":
        def original(x, y=1):
            """doc"""
            yield x
        check = inspect.isgeneratorfunction
    else:
        async def original(x, y=1):
            """doc"""
            yield x
        check = inspect.isasyncgenfunction
    wrapped = tracer.wrap()(original)
    assert wrapped.__name__ == "original" and wrapped.__doc__ == "doc"
    assert wrapped.__wrapped__ is original
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert check(wrapped)


def test_wrap_name_service_resource_span_type_arguments(tracer):
    @tracer.wrap(name="custom.op", service="svc", resource="res", span_type="worker")
    def f():
        return 1

    f()
    s = take_spans()[0]
    assert (s["name"], s["service"], s["resource"], s["type"]) == ("custom.op", "svc", "res", "worker")


def test_wrap_positional_arguments(tracer):
    @tracer.wrap("pos.op", "pos-svc", "pos-res", "http")
    def f():
        pass

    f()
    s = take_spans()[0]
    assert (s["name"], s["service"], s["resource"], s["type"]) == ("pos.op", "pos-svc", "pos-res", "http")


def test_wrapped_builtin_exception_without_traceback_is_recorded(tracer):
    # int("x") raised from C straight to the wrapper's C call has no
    # traceback yet; ddtrace's wrapper (a Python frame) records it all the
    # same (checked with .venv-ddtrace: error=1, builtins.ValueError).
    to_int = tracer.wrap("to_int")(int)
    with pytest.raises(ValueError) as raised:
        to_int("x")
    assert "invalid literal" in str(raised.value)
    s = take_spans()[0]
    assert s["name"] == "to_int"
    assert s["error"] == 1
    assert s["meta"]["error.type"] == "builtins.ValueError"
    assert "invalid literal" in s["meta"]["error.message"]
    assert tracer.current_span() is None


def test_wrapped_function_is_a_child_of_the_active_span(tracer):
    @tracer.wrap()
    def inner():
        return tracer.current_span()

    with tracer.trace("outer") as outer:
        span = inner()
    assert span.parent_id == outer.span_id
    assert tracer.current_span() is None


def test_wrapped_function_exception_is_recorded_and_reraised(tracer):
    @tracer.wrap()
    def boom():
        raise KeyError("missing")

    with pytest.raises(KeyError):
        boom()
    s = take_spans()[0]
    assert s["error"] == 1
    assert s["meta"]["error.type"] == "builtins.KeyError"
    assert s["meta"]["error.message"] == "'missing'"
    assert "boom" in s["meta"]["error.stack"]
    assert tracer.current_span() is None


def test_wrap_method_binds_self(tracer):
    class Shop:
        def __init__(self):
            self.items = 3

        @tracer.wrap()
        def count(self, extra=0):
            return self.items + extra

    shop = Shop()
    assert shop.count() == 3
    assert shop.count(extra=2) == 5
    assert Shop.count(shop) == 3
    spans = take_spans()
    assert [s["name"] for s in spans] == ["%s.count" % __name__] * 3


@pytest.mark.parametrize("order", ["wrap_outside", "wrap_inside"])
def test_wrap_classmethod(tracer, order):
    if order == "wrap_outside":
        class C:
            base = 10

            @tracer.wrap()
            @classmethod
            def make(cls, x):
                return cls.base + x
    else:
        class C:
            base = 10

            @classmethod
            @tracer.wrap()
            def make(cls, x):
                return cls.base + x

    assert C.make(1) == 11
    assert C().make(2) == 12
    spans = take_spans()
    assert [s["name"] for s in spans] == ["%s.make" % __name__] * 2


@pytest.mark.parametrize("order", ["wrap_outside", "wrap_inside"])
def test_wrap_staticmethod(tracer, order):
    if order == "wrap_outside":
        class C:
            @tracer.wrap()
            @staticmethod
            def add(a, b):
                return a + b
    else:
        class C:
            @staticmethod
            @tracer.wrap()
            def add(a, b):
                return a + b

    assert C.add(1, 2) == 3
    assert C().add(3, 4) == 7
    spans = take_spans()
    assert [s["name"] for s in spans] == ["%s.add" % __name__] * 2


def test_wrap_coroutine_span_covers_the_awaited_sleep(tracer):
    @tracer.wrap()
    async def slow():
        await asyncio.sleep(SLEEP)
        return tracer.current_span().name

    assert asyncio.run(slow()) == "%s.slow" % __name__
    s = take_spans()[0]
    assert s["duration"] >= SLEEP * 1e9 * 0.9


def test_wrap_coroutine_not_awaited_yet_has_no_span(tracer):
    @tracer.wrap()
    async def later():
        return 1

    coro = later()
    assert tracer._stats()["spans_started"] >= 0
    assert take_spans() == []
    assert asyncio.run(coro) == 1
    assert len(take_spans()) == 1


def test_wrap_coroutine_exception_is_recorded_and_reraised(tracer):
    @tracer.wrap()
    async def fails():
        await asyncio.sleep(0)
        raise ValueError("async boom")

    with pytest.raises(ValueError, match="async boom"):
        asyncio.run(fails())
    s = take_spans()[0]
    assert s["error"] == 1 and s["meta"]["error.type"] == "builtins.ValueError"


def test_wrap_generator_span_covers_the_whole_iteration(tracer):
    @tracer.wrap()
    def produce(n):
        for i in range(n):
            time.sleep(SLEEP / 3)
            yield i

    gen = produce(3)
    assert take_spans() == []  # creating the generator traced nothing yet
    assert list(gen) == [0, 1, 2]
    spans = take_spans()
    assert len(spans) == 1
    assert spans[0]["duration"] >= SLEEP * 1e9 * 0.9


def test_wrap_generator_span_stays_open_between_items(tracer):
    @tracer.wrap(name="gen")
    def produce():
        yield 1
        yield 2

    gen = produce()
    assert next(gen) == 1
    assert take_spans() == []  # not finished after the first item
    assert next(gen) == 2
    with pytest.raises(StopIteration):
        next(gen)
    assert [s["name"] for s in take_spans()] == ["gen"]


def test_wrap_generator_return_value_and_send_are_forwarded(tracer):
    @tracer.wrap()
    def echo():
        received = yield "ready"
        yield "got %s" % received
        return "done"

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("x") == "got x"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"


def test_wrap_generator_closed_early_finishes_its_span(tracer):
    @tracer.wrap(name="closed-gen")
    def produce():
        yield 1
        yield 2

    gen = produce()
    next(gen)
    gen.close()
    spans = take_spans()
    assert [s["name"] for s in spans] == ["closed-gen"]
    # ddtrace 4.16 records the GeneratorExit of close() as the span's error
    # (checked with .venv-ddtrace: error=1, error.type builtins.GeneratorExit).
    assert spans[0]["meta"].get("error.type", "builtins.GeneratorExit") == "builtins.GeneratorExit"


def test_wrap_generator_exception_in_body_is_recorded(tracer):
    @tracer.wrap(name="bad-gen")
    def produce():
        yield 1
        raise RuntimeError("gen boom")

    with pytest.raises(RuntimeError):
        list(produce())
    s = take_spans()[0]
    assert s["error"] == 1 and s["meta"]["error.message"] == "gen boom"


def test_wrap_async_generator_span_covers_the_whole_iteration(tracer):
    @tracer.wrap(name="agen")
    async def produce(n):
        for i in range(n):
            await asyncio.sleep(SLEEP / 3)
            yield i

    async def main():
        return [x async for x in produce(3)]

    assert asyncio.run(main()) == [0, 1, 2]
    spans = take_spans()
    assert [s["name"] for s in spans] == ["agen"]
    assert spans[0]["duration"] >= SLEEP * 1e9 * 0.9


def test_wrap_async_generator_forwards_asend(tracer):
    @tracer.wrap(name="agen-send")
    async def accumulate():
        total = 0
        while True:
            value = yield total
            total += value

    async def main():
        agen = accumulate()
        assert await agen.asend(None) == 0
        assert await agen.asend(5) == 5
        assert await agen.asend(7) == 12
        await agen.aclose()

    asyncio.run(main())
    assert [s["name"] for s in take_spans()] == ["agen-send"]


def test_wrap_async_generator_forwards_athrow(tracer):
    @tracer.wrap(name="agen-throw")
    async def resilient():
        while True:
            try:
                yield "ok"
            except ValueError as exc:
                yield "handled %s" % exc

    async def main():
        agen = resilient()
        assert await agen.__anext__() == "ok"
        assert await agen.athrow(ValueError("bad")) == "handled bad"
        assert await agen.__anext__() == "ok"
        await agen.aclose()

    asyncio.run(main())
    s = take_spans()[0]
    assert s["name"] == "agen-throw"
    # The ValueError was handled inside: it must not be the span's error.
    # ddtrace 4.16 records the GeneratorExit of close() as the span's error
    # (checked with .venv-ddtrace: error=1, error.type builtins.GeneratorExit).
    assert s["meta"].get("error.type", "builtins.GeneratorExit") == "builtins.GeneratorExit"


def test_wrap_async_generator_unhandled_athrow_propagates_and_is_recorded(tracer):
    @tracer.wrap(name="agen-unhandled")
    async def fragile():
        yield 1
        yield 2

    async def main():
        agen = fragile()
        await agen.__anext__()
        with pytest.raises(KeyError):
            await agen.athrow(KeyError("k"))

    asyncio.run(main())
    s = take_spans()[0]
    assert s["error"] == 1 and s["meta"]["error.type"] == "builtins.KeyError"


def test_wrap_async_generator_aclose_runs_the_inner_finally(tracer):
    cleaned = []

    @tracer.wrap(name="agen-close")
    async def resource():
        try:
            yield 1
            yield 2
        finally:
            cleaned.append(True)

    async def main():
        agen = resource()
        assert await agen.__anext__() == 1
        await agen.aclose()

    asyncio.run(main())
    assert cleaned == [True]
    spans = take_spans()
    assert [s["name"] for s in spans] == ["agen-close"]
    # ddtrace 4.16 records the GeneratorExit of close() as the span's error
    # (checked with .venv-ddtrace: error=1, error.type builtins.GeneratorExit).
    assert spans[0]["meta"].get("error.type", "builtins.GeneratorExit") == "builtins.GeneratorExit"


def test_wrapped_calls_nest(tracer):
    @tracer.wrap(name="inner")
    def inner():
        return 1

    @tracer.wrap(name="outer")
    def outer():
        return inner() + inner()

    assert outer() == 2
    spans = take_spans()
    o = span_named(spans, "outer")
    inners = [s for s in spans if s["name"] == "inner"]
    assert len(inners) == 2 and all(s["parent_id"] == o["span_id"] for s in inners)
