"""set_tag routing exactly as ddtrace 4.x, the special keys, set_tags,
get_tag(s), set_metric(s), get_metric(s)."""
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tracer_helpers import take_spans


def sent(tracer, span):
    span.finish()
    spans = take_spans()
    return [s for s in spans if s["span_id"] == span.span_id][0]


@pytest.mark.parametrize("value", [0, 1, -7, 2 ** 53, -(2 ** 53), 2 ** 60, -(2 ** 63), 1.5,
                                   -0.25, 1e300])
def test_set_tag_numbers_go_to_metrics(tracer, value):
    span = tracer.trace("op")
    span.set_tag("n", value)
    assert span.get_metric("n") == value
    assert span.get_tag("n") is None
    s = sent(tracer, span)
    assert s["metrics"]["n"] == value and "n" not in s["meta"]


@pytest.mark.parametrize("value", [2 ** 63, -(2 ** 63) - 1, 2 ** 64, -(2 ** 64), 2 ** 100])
def test_set_tag_ints_beyond_int64_go_to_meta_as_str(tracer, value):
    # ddtrace 4.16 sends ints outside int64 as meta strings (compared with
    # .venv-ddtrace in test_api_parity.py).
    span = tracer.trace("op")
    span.set_tag("big", value)
    assert span.get_tag("big") == str(value)
    assert span.get_metric("big") is None
    assert sent(tracer, span)["meta"]["big"] == str(value)


@pytest.mark.parametrize("value,expected", [(True, "True"), (False, "False"), (None, "None"),
                                            (b"ab", "b'ab'"), ([1, 2], "[1, 2]"),
                                            ("text", "text")])
def test_set_tag_bool_none_and_objects_go_to_meta_as_str(tracer, value, expected):
    span = tracer.trace("op")
    span.set_tag("k", value)
    assert span.get_tag("k") == expected
    assert span.get_metric("k") is None
    assert sent(tracer, span)["meta"]["k"] == expected


def test_set_tag_without_value_stores_none_as_str(tracer):
    span = tracer.trace("op")
    span.set_tag("flag")
    assert span.get_tag("flag") == "None"
    span.finish()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_set_tag_nan_and_inf_are_dropped(tracer, value):
    span = tracer.trace("op")
    span.set_tag("bad", value)
    assert span.get_tag("bad") is None and span.get_metric("bad") is None
    s = sent(tracer, span)
    assert "bad" not in s["meta"] and "bad" not in s["metrics"]


@pytest.mark.parametrize("value", [200, "200", 200.0, 0, -1, 1023, 1024, 404, -(2 ** 63),
                                   2 ** 63 - 1, 2 ** 63, 10 ** 30, True])
def test_http_status_code_is_always_a_string(tracer, value):
    span = tracer.trace("op")
    span.set_tag("http.status_code", value)
    assert span.get_tag("http.status_code") == str(value)
    assert span.get_metric("http.status_code") is None
    assert sent(tracer, span)["meta"]["http.status_code"] == str(value)


def test_int_tag_text_is_shared_but_never_stale(tracer):
    # ints are formatted without str() and 0..1023 keep their text: the same
    # value twice, and other values after, must each read back right
    for value in (200, 200, 201, 1023, 1024, 200, -200):
        span = tracer.trace("op")
        span.set_tag("http.status_code", value)
        assert sent(tracer, span)["meta"]["http.status_code"] == str(value)


@pytest.mark.parametrize("key,priority", [("manual.keep", 2), ("manual.drop", -1)])
def test_manual_keep_and_drop_set_the_priority_and_are_not_stored(tracer, key, priority):
    with tracer.trace("root") as root:
        with tracer.trace("child") as child:
            child.set_tag(key)
        assert root.context.sampling_priority == priority
    spans = take_spans()
    root_sent = [s for s in spans if s["name"] == "root"][0]
    assert root_sent["metrics"]["_sampling_priority_v1"] == priority
    for s in spans:
        assert key not in s["meta"] and key not in s["metrics"]
    if priority > 0:
        assert root_sent["meta"]["_dd.p.dm"] == "-4"


def test_manual_keep_with_any_value_keeps(tracer):
    span = tracer.trace("op")
    span.set_tag("manual.keep", False)
    assert sent(tracer, span)["metrics"]["_sampling_priority_v1"] == 2


def test_service_name_tag_sets_the_service(tracer):
    span = tracer.trace("op", service="before")
    span.set_tag("service.name", "after")
    assert span.service == "after"
    assert sent(tracer, span)["service"] == "after"


def test_service_version_tag_also_sets_version(tracer):
    span = tracer.trace("op")
    span.set_tag("service.version", "9.9")
    assert span.get_tag("version") == "9.9"
    span.finish()


@pytest.mark.parametrize("value,expected", [(None, 1), (True, 1), (False, 0), (1, 1), (0, 0), ("x", 1)])
def test_dd_measured_becomes_a_0_or_1_metric(tracer, value, expected):
    span = tracer.trace("op")
    span.set_tag("_dd.measured", value)
    assert span.get_metric("_dd.measured") == expected
    assert span.get_tag("_dd.measured") is None
    assert sent(tracer, span)["metrics"]["_dd.measured"] == expected


def test_a_key_lives_in_meta_or_metrics_never_both(tracer):
    span = tracer.trace("op")
    span.set_tag("k", "text")
    span.set_tag("k", 3)
    assert span.get_tag("k") is None and span.get_metric("k") == 3
    span.set_tag("k", "again")
    assert span.get_tag("k") == "again" and span.get_metric("k") is None
    s = sent(tracer, span)
    assert s["meta"]["k"] == "again" and "k" not in s["metrics"]


def test_set_tags_sets_each_pair_with_the_same_routing(tracer):
    span = tracer.trace("op")
    span.set_tags({"a": "x", "b": 2, "c": 1.5, "d": True, "manual.keep": None})
    assert span.get_tags()["a"] == "x" and span.get_tags()["d"] == "True"
    assert span.get_metrics()["b"] == 2 and span.get_metrics()["c"] == 1.5
    s = sent(tracer, span)
    assert s["metrics"]["_sampling_priority_v1"] == 2


def test_get_tags_and_get_metrics_are_copies(tracer):
    span = tracer.trace("op")
    span.set_tag("a", "x")
    span.set_metric("m", 1)
    tags, metrics = span.get_tags(), span.get_metrics()
    tags["a"] = "changed"
    metrics["m"] = 99
    assert span.get_tag("a") == "x" and span.get_metric("m") == 1
    span.finish()


def test_set_metric_and_set_metrics(tracer):
    span = tracer.trace("op")
    span.set_metric("m", 3)
    span.set_metric("s", "1.5")  # ddtrace converts with float()
    span.set_metrics({"x": 1.25, "y": 7})
    assert span.get_metric("m") == 3 and span.get_metric("s") == 1.5
    assert span.get_metrics()["x"] == 1.25 and span.get_metrics()["y"] == 7
    s = sent(tracer, span)
    assert s["metrics"]["m"] == 3 and s["metrics"]["x"] == 1.25


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "not a number", None, object()])
def test_set_metric_ignores_nan_inf_and_non_numbers(tracer, value):
    span = tracer.trace("op")
    span.set_metric("m", value)
    span.set_metrics({"m2": value})
    assert span.get_metric("m") is None and span.get_metric("m2") is None
    s = sent(tracer, span)
    assert "m" not in s["metrics"] and "m2" not in s["metrics"]


def test_set_metric_replaces_a_meta_of_the_same_key(tracer):
    span = tracer.trace("op")
    span.set_tag("k", "text")
    span.set_metric("k", 2.5)
    assert span.get_tag("k") is None and span.get_metric("k") == 2.5
    span.finish()


def test_get_tag_and_get_metric_of_missing_or_non_str_keys_are_none(tracer):
    span = tracer.trace("op")
    assert span.get_tag("missing") is None and span.get_metric("missing") is None
    assert span.get_tag(None) is None and span.get_metric(1) is None
    span.finish()


def test_many_tags_are_all_kept(tracer):
    span = tracer.trace("op")
    for i in range(500):
        span.set_tag("meta.%d" % i, "v%d" % i)
        span.set_tag("metric.%d" % i, i)
    s = sent(tracer, span)
    assert all(s["meta"]["meta.%d" % i] == "v%d" % i for i in range(500))
    assert all(s["metrics"]["metric.%d" % i] == i for i in range(500))


class _Weird:
    def __str__(self):
        return "weird!"


tag_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.binary(max_size=20),
    st.lists(st.integers(), max_size=3), st.builds(_Weird),
)


def _expected(value):
    """ddtrace's routing, for values it is unambiguous about."""
    if isinstance(value, bool) or value is None:
        return "meta", str(value)
    if isinstance(value, float):
        return ("none", None) if math.isnan(value) or math.isinf(value) else ("metric", value)
    if isinstance(value, int):
        if -(2 ** 63) <= value < 2 ** 63:  # ddtrace 4.16: int64 goes to metrics
            return "metric", float(value)   # as a double, like the payload
        return "meta", str(value)
    return "meta", str(value)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.text(min_size=1), value=tag_values)
def test_set_tag_routes_any_value_like_ddtrace(tracer, key, value):
    if key in ("manual.keep", "manual.drop", "service.name", "service.version",
               "_dd.measured", "http.status_code", "network.destination.port"):
        return
    span = tracer.start_span("prop")
    span.set_tag(key, value)
    where, expected = _expected(value)
    tag, metric = span.get_tag(key), span.get_metric(key)
    if where == "meta":
        # lone surrogates are replaced as ddtrace's ensure_text does
        assert tag == expected.encode("utf-8", "replace").decode("utf-8") or tag == expected
        assert metric is None
    elif where == "metric":
        assert metric == expected and tag is None
    elif where == "none":
        assert tag is None and metric is None
    span.finish()
    tracer._take_payload(4)


@pytest.mark.parametrize("value,expected", [("8080", 8080), (443, 443)])
def test_network_destination_port_string_becomes_an_int_metric(tracer, value, expected):
    # ddtrace 4.16 span.py set_tag: `value = int(value)` for this key.
    span = tracer.trace("op")
    span.set_tag("network.destination.port", value)
    assert span.get_metric("network.destination.port") == expected
    span.finish()


def test_trace_and_start_span_accept_keyword_arguments(tracer):
    with tracer.trace(name="kw", service="s", resource="r", span_type="t") as span:
        child = tracer.start_span(name="kw-child", child_of=span, service="s2",
                                  resource="r2", span_type="t2", activate=False)
        child.finish()
    assert (span.name, span.service, span.resource, span.span_type) == ("kw", "s", "r", "t")
    assert (child.service, child.resource, child.span_type) == ("s2", "r2", "t2")


class _Text(str):
    pass


# (key, value, where, stored): where the tag must land, "meta" or "metric",
# or "neither" for the keys that act and store nothing.
SHORT_PATH_CASES = [
    ("short.str", "text", "meta", "text"),
    ("short.int", 7, "metric", 7),
    ("short.int", -(2 ** 63), "metric", float(-(2 ** 63))),
    ("short.int", 2 ** 63 - 1, "metric", float(2 ** 63 - 1)),
    ("short.int", 2 ** 53 + 1, "metric", float(2 ** 53 + 1)),  # rounded as float() does
    ("short.big", 2 ** 63, "meta", str(2 ** 63)),
    ("short.float", 0.5, "metric", 0.5),
    ("short.nan", float("nan"), "neither", None),
    ("short.bool", True, "meta", "True"),
    ("short.subclass", _Text("sub"), "meta", "sub"),
    ("short.none", None, "meta", "None"),
    ("http.status_code", 200, "meta", "200"),
    ("http.status_code", 99999, "meta", "99999"),
    ("http.status_code", -5, "meta", "-5"),
    ("http.status_code", 200.0, "meta", "200.0"),
    ("http.status_code", "404", "meta", "404"),
    ("network.destination.port", "8080", "metric", 8080),
    ("network.destination.port", 443, "metric", 443),
    ("_dd.measured", 5, "metric", 1),
    ("_dd.measured", 0.0, "metric", 0),
    ("_dd.measured", "x", "metric", 1),
    ("manual.keep", "yes", "neither", None),
    ("manual.keep", 1, "metric", 1),  # an int goes to metrics first, as in ddtrace
    ("manual.drop", "yes", "neither", None),
    ("service.name", "svc2", "meta", "svc2"),  # sets the service and stays a tag
]


@pytest.mark.parametrize("key,value,where,stored", SHORT_PATH_CASES)
def test_set_tag_routes_the_same_on_the_short_path(tracer, key, value, where, stored):
    # The first set_tag of a key takes the general path and caches the key;
    # the next ones find it cached and may take the short path: every call
    # must route alike.
    for _ in range(3):
        span = tracer.trace("op", service="svc1")
        span.set_tag(key, value)
        assert span.get_tag(key) == (stored if where == "meta" else None)
        assert span.get_metric(key) == (stored if where == "metric" else None)
        s = sent(tracer, span)
        assert (key in s["meta"], key in s["metrics"]) == (where == "meta", where == "metric")
        if where == "meta":
            assert s["meta"][key] == stored
        if where == "metric":
            assert s["metrics"][key] == stored
        if key == "service.name":
            assert s["service"] == value
        if key.startswith("manual.") and where == "neither":
            assert s["metrics"]["_sampling_priority_v1"] == (2 if key == "manual.keep" else -1)


def test_bytes_key_and_keyword_calls_route_as_the_short_path_does(tracer):
    for _ in range(3):
        span = tracer.trace("op")
        span.set_tag(b"bytes.key", "v")
        span.set_tag(key="kw.key", value=3)
        span.set_tag("pos.key", value="w")
        s = sent(tracer, span)
        assert s["meta"]["bytes.key"] == "v" and s["metrics"]["kw.key"] == 3
        assert s["meta"]["pos.key"] == "w"


def test_short_path_replaces_a_tag_across_meta_and_metrics(tracer):
    for _ in range(3):
        span = tracer.trace("op")
        span.set_tag("short.switch", "text")
        span.set_tag("short.switch", 3)
        assert span.get_tag("short.switch") is None and span.get_metric("short.switch") == 3
        span.set_tag("short.switch", 1.5)
        span.set_tag("short.switch", "again")
        s = sent(tracer, span)
        assert s["meta"]["short.switch"] == "again" and "short.switch" not in s["metrics"]
