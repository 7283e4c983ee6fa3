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


def test_a_pooled_hash_client_is_traced_as_ddtrace_traces_it(memcached_server, down_port):
    env = {"CT_MEMCACHED_PORT": str(memcached_server.port), "CT_DOWN_PORT": str(down_port),
           "DD_TRACE_MEMCACHED_COMMAND_ENABLED": "true"}
    traces = data_apps.assert_like_ddtrace("memcached_app.py", ["pooled"], env)
    commands = data_apps.spans(traces, "memcached.command")
    # get_many is the HashClient's own loop over pooled clients: one span;
    # a single-key command: the HashClient's span around the pooled client's
    # (how many gets reach the down server depends on its retry timing)
    assert [s["resource"] for s in commands[:9]] == [
        "set", "set", "get", "get", "get", "get", "delete", "delete", "get_many"]
    assert {s["resource"] for s in commands[9:]} == {"get"}
    by_id = {s["span_id"]: s for s in commands}
    inner = [s for s in commands[:8] if s["parent_id"] in by_id]
    assert [by_id[s["parent_id"]]["meta"]["memcached.query"] for s in inner] == [
        "set pk", "get pk", "get missing", "delete pk"]
