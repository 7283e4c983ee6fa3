"""DBM comment propagation (DD_DBM_PROPAGATION_MODE=service|full) against
real PostgreSQL and MariaDB, differential against real ddtrace 4.16: the
servers receive the same comments (each app asks its server for the text
of the statement it runs), and in full mode the traceparent names the
query's own span."""
import json
import re

import pytest

import data_apps
import differential

TRACEPARENT = re.compile(r"traceparent='00-([0-9a-f]{32})-([0-9a-f]{16})-01'")


def _run(tracer, mode, postgres_server, mariadb_server, args=()):
    env = {"CT_PG_DSN": postgres_server.dsn, "CT_MYSQL_PORT": str(mariadb_server.port),
           "DD_DBM_PROPAGATION_MODE": mode}
    traces, seen = data_apps.run_traced(tracer, "dbm_app.py", args, env=env)
    return traces, json.loads(seen)


@pytest.mark.parametrize("mode", ["service", "full"])
def test_servers_receive_ddtraces_dbm_comments(postgres_server, mariadb_server, mode):
    theirs, their_statements = _run("ddtrace", mode, postgres_server, mariadb_server)
    ours, our_statements = _run("ctrace", mode, postgres_server, mariadb_server)
    differential.assert_same_trees(theirs, ours)
    assert [TRACEPARENT.sub("traceparent=<ids>", s) for s in our_statements] == [
        TRACEPARENT.sub("traceparent=<ids>", s) for s in their_statements]
    assert our_statements[0].startswith(
        "/*dddb='test',dddbs='postgres',dde='test',ddh='127.0.0.1',ddps='diff-app',ddpv='1.0'")
    assert [s.split("dddbs='")[1].split("'")[0] for s in our_statements] == [
        "postgres", "postgres", "pymysql", "mysql"]
    if mode == "service":
        assert not any(TRACEPARENT.search(s) for s in our_statements)
        return
    queries = [s for s in data_apps.spans(ours) if s["name"].endswith(".query")]
    assert [s["meta"]["_dd.dbm_trace_injected"] for s in queries] == ["true"] * 4
    named = [TRACEPARENT.search(s).groups() for s in our_statements]
    assert [int(span_id, 16) for _, span_id in named] == [s["span_id"] for s in queries]
    assert {int(trace_id, 16) & (2 ** 64 - 1) for trace_id, _ in named} == {queries[0]["trace_id"]}


@pytest.mark.parametrize("mode", ["service", "full"])
def test_asyncpg_sends_the_comment_with_text_queries_only_as_ddtrace(postgres_server, mariadb_server, mode):
    theirs, their_seen = _run("ddtrace", mode, postgres_server, mariadb_server, ["asyncpg"])
    ours, our_seen = _run("ctrace", mode, postgres_server, mariadb_server, ["asyncpg"])
    differential.assert_same_trees(theirs, ours)
    assert [TRACEPARENT.sub("traceparent=<ids>", str(s)) for s in our_seen] == [
        TRACEPARENT.sub("traceparent=<ids>", str(s)) for s in their_seen]
    text, prepared, rows = our_seen
    assert text.startswith("/*dddb='test',dddbs='postgres',dde='test',ddh='127.0.0.1',ddps='diff-app'")
    assert text.endswith("*/ CREATE TEMP TABLE seen AS SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()")
    assert not prepared.startswith("/*") and rows == 2
    queries = [s for s in data_apps.spans(ours) if s["name"] == "postgres.query"]
    assert all(not s["resource"].startswith("/*") for s in queries)
    injected = [s["resource"].split()[0] for s in queries if s["meta"].get("_dd.dbm_trace_injected")]
    if mode == "service":
        assert not TRACEPARENT.search(text) and injected == []
    else:
        assert [int(TRACEPARENT.search(text).group(2), 16)] == [
            s["span_id"] for s in queries if s["resource"].startswith("CREATE")]
        assert "INSERT" not in injected and "CREATE" in injected


def test_dbm_propagation_is_off_by_default(postgres_server, mariadb_server):
    _, statements = _run("ctrace", "disabled", postgres_server, mariadb_server)
    assert not any(s.startswith("/*") for s in statements)
