"""pymemcache against a real memcached, differential against real
ddtrace 4.16; failures (server down, a server that never answers) reach
the app unchanged."""
import data_apps
import servers


def test_memcached_span_trees_are_ddtraces_and_the_app_sees_the_same(memcached_server):
    traces = data_apps.assert_like_ddtrace("memcached_app.py", env={
        "CT_MEMCACHED_PORT": str(memcached_server.port), "DD_TRACE_MEMCACHED_COMMAND_ENABLED": "true"})
    commands = data_apps.spans(traces, "memcached.command")
    assert [s["resource"] for s in commands] == [
        "set", "get", "get", "set_many", "get_many", "gets", "incr", "delete", "set", "set", "get"]
    assert [s["metrics"].get("db.row_count") for s in commands[1:6]] == [1, 0, None, 2, 1]
    assert commands[4]["meta"]["memcached.query"] == "get_many a b nope"
    assert {s["service"] for s in commands} == {"memcached"}
    assert [s["meta"]["error.type"] for s in commands if s["error"]] == [
        "pymemcache.exceptions.MemcacheIllegalInputError"]


def test_memcached_failures_are_flagged_and_reach_the_app_unchanged(memcached_server, down_port):
    env = {"CT_MEMCACHED_PORT": str(memcached_server.port), "CT_DOWN_PORT": str(down_port),
           "CT_MUTE_PORT": str(servers.free_port())}
    traces = data_apps.assert_like_ddtrace("memcached_app.py", ["failures"], env)
    assert [s["meta"]["error.type"] for s in data_apps.spans(traces, "memcached.command")] == [
        "builtins.ConnectionRefusedError", "builtins.TimeoutError"]
