"""redis-py's synchronous commands traced by the C wrapper
(``_ctrace.RedisCommand``, src/python/redis_command.h), against a real
Redis on loopback: the span's fields, the command text against
contrib/_cache_args.py's, settings changed at run time, failures of the
command and of the tracing, and no leak over 10,000 commands.

The differential tests (tests/integrations/test_redis.py) compare the
same spans with real ddtrace's."""
import gc
import importlib
import inspect
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integrations"))

import servers  # noqa: E402
from tracer_helpers import one_span, settings_restored, take_spans  # noqa: E402

redis = pytest.importorskip("redis")


@pytest.fixture(scope="module")
def redis_server():
    with servers.RedisServer() as server:
        yield server


@pytest.fixture
def unpatched(tracer):
    """redis-py as it was before patching; patched again after the test if
    another test left it patched."""
    redis_patch = importlib.import_module("ddtrace.contrib.redis.patch")
    was_patched = getattr(redis, "_datadog_patch", False)
    redis_patch.unpatch()
    try:
        yield redis_patch
    finally:
        redis_patch.unpatch()
        if was_patched:
            redis_patch.patch()


@pytest.fixture
def patched(unpatched):
    unpatched.patch()
    yield unpatched


@pytest.fixture
def client(redis_server, patched):
    made = redis.Redis(host=redis_server.host, port=redis_server.port, db=0)
    made.flushdb()
    take_spans()
    yield made
    made.close()


C_TARGETS = ((redis.Redis, "execute_command"), (redis.client.Pipeline, "immediate_execute_command"),
             (redis.cluster.RedisCluster, "execute_command"))


def test_the_sync_methods_are_replaced_by_the_c_wrapper_and_put_back_after(redis_server, unpatched):
    from ddtrace import _ctrace
    originals = {target: target[0].__dict__[target[1]] for target in C_TARGETS}
    assert not any(isinstance(original, _ctrace.RedisCommand) for original in originals.values())
    signature = inspect.signature(redis.Redis.execute_command)
    redis_patch = unpatched
    redis_patch.patch()
    try:
        for (owner, name), original in originals.items():
            replaced = owner.__dict__[name]
            assert isinstance(replaced, _ctrace.RedisCommand), (owner, name)
            assert replaced.__wrapped__ is original
            assert (replaced.__name__, replaced.__qualname__, replaced.__module__, replaced.__doc__) == \
                (original.__name__, original.__qualname__, original.__module__, original.__doc__)
        assert inspect.signature(redis.Redis.execute_command) == signature
        client = redis.Redis(host=redis_server.host, port=redis_server.port)
        bound = client.execute_command
        assert bound.__self__ is client and bound.__func__ is redis.Redis.__dict__["execute_command"]
        assert list(inspect.signature(bound).parameters) == list(signature.parameters)[1:]
        client.close()
    finally:
        redis_patch.unpatch()
    assert {target: target[0].__dict__[target[1]] for target in C_TARGETS} == originals


def test_every_way_of_calling_the_method_reaches_redis_and_is_traced(client):
    client.set("k", "v")
    take_spans()
    assert redis.Redis.execute_command(client, "GET", "k") == b"v"      # unbound
    assert client.execute_command("GET", "k", keys=["k"]) == b"v"       # with options
    bound = client.execute_command
    assert bound("GET", "k") == b"v"                                     # a bound method object
    spans = take_spans()
    assert [s["meta"]["redis.raw_command"] for s in spans] == ["GET k"] * 3
    with pytest.raises(TypeError):
        redis.Redis.execute_command()                                    # no client: the method's error
    assert take_spans() == []


def test_a_get_span_has_ddtraces_fields(client, redis_server):
    client.set("k", "v")
    take_spans()
    assert client.get("k") == b"v"
    span = one_span()
    assert (span["name"], span["service"], span["resource"], span["type"]) == \
        ("redis.command", "redis", "GET", "redis")
    assert span["error"] == 0
    meta, metrics = span["meta"], span["metrics"]
    assert meta["redis.raw_command"] == "GET k"
    assert meta["component"] == "redis"
    assert meta["span.kind"] == "client"
    assert meta["db.system"] == "redis"
    assert meta["out.host"] == meta["server.address"] == "127.0.0.1"
    assert meta["_dd.svc_src"] == "redis"
    assert metrics["network.destination.port"] == redis_server.port
    assert metrics["out.redis_db"] == 0
    assert metrics["redis.args_length"] == 2
    assert metrics["db.row_count"] == 1
    assert metrics["_dd.measured"] == 1


def test_row_count_follows_the_result(client):
    client.get("missing")
    assert one_span()["metrics"]["db.row_count"] == 0
    client.set("a", "1")
    assert "db.row_count" not in one_span()["metrics"]       # SET returns no rows
    client.mget("a", "missing", "a")
    assert one_span()["metrics"]["db.row_count"] == 2
    client.hset("h", mapping={"f": "v"})
    take_spans()
    client.hgetall("h")
    assert one_span()["metrics"]["db.row_count"] == 1


def test_bytes_and_long_arguments_are_shown_as_cache_args_shows_them(client):
    value = b"\xff\x00" + b"x" * 200
    client.set("key", value)
    span = one_span()
    from ddtrace.contrib._cache_args import stringify_cache_args
    assert span["meta"]["redis.raw_command"] == stringify_cache_args(("SET", "key", value))
    assert span["meta"]["redis.raw_command"].endswith("...")
    assert span["metrics"]["redis.args_length"] == 3


class Unprintable:
    def __str__(self):
        raise ValueError("no text")


def random_arg(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return "".join(rng.choice("ab \u00e9\u20ac") for _ in range(rng.randrange(0, 130)))
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 130)))
    if kind == 2:
        return rng.randrange(-10 ** 20, 10 ** 20)
    if kind == 3:
        return rng.random()
    if kind == 4:
        return Unprintable()
    return "GET"


def test_the_c_command_text_is_cache_args_text_for_any_arguments():
    from ddtrace import _ctrace
    from ddtrace.contrib._cache_args import stringify_cache_args
    rng = random.Random(12)
    for _ in range(3000):
        args = tuple(random_arg(rng) for _ in range(rng.randrange(0, 14)))
        cmd_max = rng.choice([1000, 1000, 250, 30, 5, 0, -3])
        assert _ctrace.RedisCommand.raw_command(args, cmd_max) == stringify_cache_args(args, 100, cmd_max), args


def test_settings_changed_at_run_time_are_followed(client):
    from ddtrace import config
    from ddtrace.contrib.trace_utils import ext_service_and_source
    with settings_restored(config.redis):
        config.redis["resource_only_command"] = False
        config.redis["cmd_max_length"] = 5
        config.redis.service = "cache"
        client.get("a-long-key")
        span = one_span()
        assert span["resource"] == span["meta"]["redis.raw_command"] == "GET a-..."
        assert span["service"] == "cache"
        assert span["meta"].get("_dd.svc_src", "") == ext_service_and_source(config.redis)[1]
    client.get("k")
    span = one_span()
    assert (span["service"], span["resource"], span["meta"]["_dd.svc_src"]) == ("redis", "GET", "redis")


def test_a_failed_command_reaches_the_app_unchanged_and_is_recorded(client):
    client.set("s", "text")
    take_spans()
    with pytest.raises(redis.exceptions.ResponseError) as raised:
        client.incr("s")
    span = one_span()
    assert span["error"] == 1
    assert span["meta"]["error.type"] == "redis.exceptions.ResponseError"
    assert span["meta"]["error.message"] == str(raised.value)
    assert "db.row_count" not in span["metrics"]
    client.connection_pool.disconnect()


def test_a_get_to_a_server_that_is_down_has_row_count_zero(patched, tracer):
    down = redis.Redis(host="127.0.0.1", port=servers.free_port())
    with pytest.raises(redis.exceptions.ConnectionError):
        down.get("k")
    span = one_span()
    assert span["error"] == 1
    assert span["metrics"]["db.row_count"] == 0
    assert span["meta"]["error.type"] == "redis.exceptions.ConnectionError"


def test_a_watched_pipelines_immediate_command_is_traced(client):
    client.set("w", "1")
    take_spans()
    with client.pipeline() as pipe:
        pipe.watch("w")
        assert pipe.get("w") == b"1"
    spans = [s for s in take_spans() if s["resource"] == "GET"]
    assert len(spans) == 1 and spans[0]["meta"]["redis.raw_command"] == "GET w"


def test_the_command_span_is_a_child_of_the_active_span(client, tracer):
    with tracer.trace("parent") as parent:
        client.get("k")
    spans = take_spans()
    child = [s for s in spans if s["name"] == "redis.command"][0]
    assert child["parent_id"] == parent.span_id
    assert child["trace_id"] == parent.trace_id & (2 ** 64 - 1)
    assert tracer.current_span() is None


def test_a_failure_of_the_tracing_is_counted_and_the_command_runs_untraced(client):
    from ddtrace.contrib import _safety
    client.connection_pool._ctrace_span_tags = "not a dict"
    before = _safety.errors["redis"]
    try:
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        del client.connection_pool._ctrace_span_tags
    assert _safety.errors["redis"] == before + 2
    assert take_spans() == []
    client.get("k")
    assert one_span()["meta"]["redis.raw_command"] == "GET k"     # the tags are made again


def test_a_disabled_tracer_makes_no_span(client, tracer):
    tracer.enabled = False
    try:
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        tracer.enabled = True
    assert take_spans() == []


def test_ten_thousand_commands_leak_no_reference_or_memory(client, tracer):
    key, value = "leak-key", b"leak-value"
    client.set(key, value)

    def run(commands):
        for i in range(commands):
            client.get(key)
            if i % 1000 == 999:
                tracer._take_payload(4)     # (the in-memory writer keeps what is not taken)
        tracer._take_payload(4)

    run(2000)  # warm-up: caches, free lists, the writer's buffers
    gc.collect()
    key_refs, value_refs, tracer_refs = sys.getrefcount(key), sys.getrefcount(value), sys.getrefcount(tracer)
    objects, blocks = len(gc.get_objects()), sys.getallocatedblocks()
    run(10000)
    gc.collect()
    assert abs(sys.getrefcount(key) - key_refs) <= 1   # (+-1: the extension's string cache)
    assert sys.getrefcount(value) == value_refs
    assert sys.getrefcount(tracer) == tracer_refs
    assert len(gc.get_objects()) - objects < 200
    assert sys.getallocatedblocks() - blocks < 1000    # one leaked block per command is 10,000
