"""Errors (set_exc_info, the context manager, record_exception) and span
links (link_span, set_link) as they reach the payload."""
import json
import sys

import pytest

from ddtrace.trace import Context
from tracer_helpers import span_named, take_spans


class CustomError(Exception):
    pass


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")


def _raise(exc):
    raise exc


def test_set_exc_info_sets_error_type_message_and_stack(tracer):
    span = tracer.trace("op")
    try:
        _raise(CustomError("it broke"))
    except CustomError:
        span.set_exc_info(*sys.exc_info())
    assert span.error == 1
    assert span.get_tag("error.type") == "%s.CustomError" % __name__
    assert span.get_tag("error.message") == "it broke"
    stack = span.get_tag("error.stack")
    assert "Traceback (most recent call last)" in stack and "_raise" in stack
    assert "CustomError: it broke" in stack
    span.finish()
    s = take_spans()[0]
    assert s["error"] == 1 and s["meta"]["error.type"] == "%s.CustomError" % __name__


def test_set_exc_info_of_builtin_exception_names_the_builtins_module(tracer):
    span = tracer.trace("op")
    try:
        1 / 0
    except ZeroDivisionError:
        span.set_exc_info(*sys.exc_info())
    assert span.get_tag("error.type") == "builtins.ZeroDivisionError"
    span.finish()


def test_set_exc_info_with_a_raising_str_uses_the_class_name(tracer):
    span = tracer.trace("op")
    try:
        raise UnprintableError()
    except UnprintableError:
        span.set_exc_info(*sys.exc_info())
    assert span.error == 1
    assert span.get_tag("error.message") == "UnprintableError"
    span.finish()


def test_set_exc_info_does_nothing_for_system_exit_0(tracer):
    span = tracer.trace("op")
    try:
        sys.exit(0)
    except SystemExit:
        span.set_exc_info(*sys.exc_info())
    assert span.error == 0 and span.get_tag("error.type") is None
    span.finish()


def test_set_exc_info_records_system_exit_with_a_nonzero_code(tracer):
    span = tracer.trace("op")
    try:
        sys.exit(3)
    except SystemExit:
        span.set_exc_info(*sys.exc_info())
    assert span.error == 1 and span.get_tag("error.type") == "builtins.SystemExit"
    span.finish()


def test_set_exc_info_records_system_exit_without_code_like_ddtrace(tracer):
    # ddtrace 4.16 span.py set_exc_info skips only `exc_val.code == 0`;
    # sys.exit() has code None, which it records as an error.
    span = tracer.trace("op")
    try:
        sys.exit()
    except SystemExit:
        span.set_exc_info(*sys.exc_info())
    assert span.error == 1
    span.finish()


def test_set_exc_info_with_missing_arguments_does_nothing(tracer):
    span = tracer.trace("op")
    span.set_exc_info(None, None, None)
    span.set_exc_info(ValueError, ValueError("x"), None)
    assert span.error == 0 and span.get_tag("error.type") is None
    span.finish()


def test_error_stack_is_bounded_and_keeps_the_most_recent_frames(tracer):
    def recurse(n):
        if n == 0:
            raise CustomError("deep")
        recurse(n - 1)

    span = tracer.trace("op")
    try:
        recurse(300)
    except CustomError:
        span.set_exc_info(*sys.exc_info())
    stack = span.get_tag("error.stack")
    assert len(stack) <= 30000
    assert stack.rstrip().endswith("CustomError: deep")
    span.finish()


def test_context_manager_records_the_exception_and_reraises(tracer):
    with pytest.raises(CustomError):
        with tracer.trace("op") as span:
            assert tracer.current_span() is span
            raise CustomError("from with")
    assert span.finished and span.error == 1
    assert tracer.current_span() is None
    s = take_spans()[0]
    assert s["meta"]["error.message"] == "from with"
    assert s["meta"]["error.type"] == "%s.CustomError" % __name__
    assert "error.stack" in s["meta"]


def test_context_manager_enter_returns_the_span_and_exit_never_swallows(tracer):
    span = tracer.trace("op")
    assert span.__enter__() is span
    try:
        raise ValueError("x")
    except ValueError:
        result = span.__exit__(*sys.exc_info())
    assert not result
    assert span.finished


def test_context_manager_records_keyboard_interrupt(tracer):
    with pytest.raises(KeyboardInterrupt):
        with tracer.trace("op"):
            raise KeyboardInterrupt
    assert take_spans()[0]["meta"]["error.type"] == "builtins.KeyboardInterrupt"


def test_context_manager_without_exception_is_not_an_error(tracer):
    with tracer.trace("op"):
        pass
    s = take_spans()[0]
    assert s["error"] == 0 and "error.type" not in s["meta"]


def test_record_exception_adds_an_exception_event_sent_as_json_in_meta(tracer):
    span = tracer.trace("op")
    try:
        _raise(CustomError("recorded"))
    except CustomError as exc:
        span.record_exception(exc, {"custom": "attr", "exception.message": "overridden"})
    assert span.error == 0  # recording is not failing
    span.finish()
    s = take_spans()[0]
    events = json.loads(s["meta"]["events"])
    assert len(events) == 1
    event = events[0]
    assert event["name"] == "exception"
    assert event["time_unix_nano"] >= s["start"]
    attrs = event["attributes"]
    assert attrs["exception.type"] == "%s.CustomError" % __name__
    assert attrs["exception.message"] == "overridden"  # user attributes win
    assert "_raise" in attrs["exception.stacktrace"]
    assert attrs["custom"] == "attr"


def test_record_exception_twice_gives_two_events(tracer):
    span = tracer.trace("op")
    span.record_exception(ValueError("a"))
    span.record_exception(KeyError("b"))
    span.finish()
    events = json.loads(take_spans()[0]["meta"]["events"])
    assert [e["attributes"]["exception.type"] for e in events] == ["builtins.ValueError", "builtins.KeyError"]


def test_link_span_adds_a_span_link_in_the_payload(tracer):
    linked = Context(trace_id=(7 << 64) | 11, span_id=22)
    span = tracer.trace("op")
    span.link_span(linked, {"reason": "retry", "n": 3})
    span.finish()
    links = take_spans()[0]["span_links"]
    assert len(links) == 1
    link = links[0]
    assert link["trace_id"] == 11 and link["span_id"] == 22
    assert link.get("trace_id_high") == 7
    assert link["attributes"] == {"reason": "retry", "n": "3"}


def test_set_link_with_tracestate_and_flags(tracer):
    span = tracer.trace("op")
    span.set_link(trace_id=123, span_id=456, tracestate="dd=s:1", flags=1,
                  attributes={"ok": True})
    span.finish()
    link = take_spans()[0]["span_links"][0]
    assert link["trace_id"] == 123 and link["span_id"] == 456
    assert link["tracestate"] == "dd=s:1"
    assert link["flags"] & 1
    assert link["attributes"] == {"ok": "true"}


def test_linking_the_same_span_twice_keeps_one_link(tracer):
    span = tracer.trace("op")
    span.set_link(trace_id=1, span_id=2, attributes={"v": "1"})
    span.set_link(trace_id=1, span_id=2, attributes={"v": "2"})
    span.set_link(trace_id=1, span_id=3)
    span.finish()
    links = take_spans()[0]["span_links"]
    assert sorted(l["span_id"] for l in links) == [2, 3]


def test_link_to_another_local_span_context(tracer):
    with tracer.trace("a") as a:
        pass
    with tracer.trace("b") as b:
        b.link_span(a.context)
    spans = take_spans()
    link = span_named(spans, "b")["span_links"][0]
    assert link["span_id"] == a.span_id
    assert link["trace_id"] == a.trace_id & (2 ** 64 - 1)
