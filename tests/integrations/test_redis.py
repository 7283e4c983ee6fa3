"""redis-py (commands, pipelines, transactions, the asyncio client)
against a real Redis, differential against real ddtrace 4.16; failures
(server down, a read timeout, a connection the server killed) reach the
app unchanged."""
import data_apps


def test_redis_span_trees_are_ddtraces_and_the_app_sees_the_same(redis_server):
    traces = data_apps.assert_like_ddtrace("redis_app.py", env={"CT_REDIS_PORT": str(redis_server.port)})
    commands = data_apps.spans(traces, "redis.command")
    assert {s["service"] for s in commands} == {"redis"} and {s["type"] for s in commands} == {"redis"}
    by_resource = {s["resource"]: s for s in commands}
    assert by_resource["SET\nINCRBY\nGET"]["metrics"]["redis.pipeline_length"] == 3
    assert by_resource["MGET"]["metrics"]["db.row_count"] == 2
    long_set = commands[0]
    assert long_set["meta"]["redis.raw_command"] == "SET k " + "v" * 100 + "..."
    assert long_set["metrics"]["out.redis_db"] == 0 and long_set["meta"]["redis.client_name"] == "app"
    assert [s["meta"]["error.type"] for s in commands if s["error"]] == [
        "redis.exceptions.ResponseError", "redis.exceptions.ResponseError"]


def test_redis_failures_are_flagged_and_reach_the_app_unchanged(redis_server, down_port):
    env = {"CT_REDIS_PORT": str(redis_server.port), "CT_DOWN_PORT": str(down_port)}
    traces = data_apps.assert_like_ddtrace("redis_app.py", ["failures"], env)
    errors = [(s["resource"], s["meta"]["error.type"]) for s in data_apps.spans(traces) if s["error"]]
    assert errors == [("GET", "redis.exceptions.ConnectionError"), ("BLPOP", "redis.exceptions.TimeoutError")]


def test_raw_command_length_is_configurable(redis_server):
    env = {"CT_REDIS_PORT": str(redis_server.port), "DD_REDIS_CMD_MAX_LENGTH": "10",
           "DD_REDIS_RESOURCE_ONLY_COMMAND": "false"}
    traces = data_apps.assert_like_ddtrace("redis_app.py", env=env)
    assert data_apps.spans(traces)[1]["meta"]["redis.raw_command"] == "SET k vvvvvv..."


def test_a_service_set_in_code_after_patching_names_the_spans_as_in_ddtrace(redis_server):
    import differential
    code = """
        import redis
        from ddtrace import config
        config.redis["service"] = "my-cache"
        redis.Redis(host="127.0.0.1", port=%d).get("k")
    """ % redis_server.port
    ours = differential.run_script("ctrace", code)
    differential.assert_same_trees(differential.run_script("ddtrace", code), ours)
    assert [(s["service"], s["meta"]["_dd.svc_src"]) for s in data_apps.spans(ours)] == [("my-cache", "m")]


def test_redis_cluster_span_trees_are_ddtraces_and_the_app_sees_the_same(redis_cluster):
    # a real cluster of three masters: keys land on different nodes
    traces = data_apps.assert_like_ddtrace("redis_app.py", ["cluster"], {"CT_REDIS_PORT": str(redis_cluster.port)})
    commands = sorted(data_apps.spans(traces, "redis.command"), key=lambda s: s["start"])
    resources = [s["resource"] for s in commands]
    # the client's start-up (CLUSTER SLOTS, COMMAND) goes through a node's own client
    assert resources[:2] == ["CLUSTER", "COMMAND"]
    # a multi-key DEL is a pipeline by slot; redis-py 8 queues a cluster
    # pipeline where ddtrace does not look, so its spans show no commands
    assert resources[2:] == ["redis.command", "SET", "SET", "SET", "GET", "GET", "GET", "GET", "MGET", "redis.command", "INCRBY",
                             "SET", "GET", "redis.command"]
    assert {s["meta"]["out.host"] for s in commands} == {"127.0.0.1"}
    cluster_commands = commands[2:]
    assert {s["metrics"]["network.destination.port"] for s in cluster_commands} == {redis_cluster.port}
    assert [s["metrics"].get("db.row_count") for s in cluster_commands[4:9]] == [1, 1, 1, 0, 0]
    assert [s["meta"]["error.type"] for s in commands if s["error"]] == ["redis.exceptions.ResponseError"]
