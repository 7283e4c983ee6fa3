"""psycopg2 and psycopg 3 (sync and async) against a real PostgreSQL,
differential against real ddtrace 4.16: same span trees, and tracing
changes nothing the app sees, failures included (server down, statement
timeout, a connection the server killed)."""
import pytest

import data_apps


def _env(postgres_server, down_port=None):
    env = {"CT_PG_DSN": postgres_server.dsn}
    if down_port:
        env["CT_DOWN_PORT"] = str(down_port)
    return env


@pytest.mark.parametrize("library", ["psycopg2", "psycopg", "psycopg_async", "psycopg_cursors",
                                     "psycopg_async_cursors"])
def test_postgres_span_trees_are_ddtraces_and_the_app_sees_the_same(postgres_server, library):
    traces = data_apps.assert_like_ddtrace("postgres_app.py", [library], _env(postgres_server))
    queries = data_apps.spans(traces, "postgres.query")
    assert queries and {s["service"] for s in queries} == {"postgres"}
    for span in queries:
        assert span["meta"]["db.system"] == "postgresql"
        assert span["meta"]["db.name"] == "test" and span["meta"]["db.user"] == "postgres"
        assert span["meta"]["out.host"] == "127.0.0.1"
        assert span["metrics"]["network.destination.port"] == postgres_server.port
    failed = [s for s in queries if s["error"]]
    assert [s["resource"] for s in failed] == ["SELECT * FROM missing_table"]
    assert failed[0]["meta"]["error.type"].endswith("errors.UndefinedTable")
    if library == "psycopg":    # composed SQL: the text the server received
        assert 'SELECT "name" FROM "items3" ORDER BY id' in [s["resource"] for s in queries]
    if library == "psycopg_cursors":    # psycopg.Cursor(conn), not ClientCursor (as in ddtrace)
        assert [s["resource"] for s in queries] == ["SELECT 1", "SELECT 2 AS two", "SELECT %s",
                                                    "SELECT * FROM missing_table"]
        assert len(data_apps.spans(traces, "psycopg.connection.commit")) == 1
    if library == "psycopg_async_cursors":
        assert [s["resource"] for s in queries] == ["SELECT 1", "SELECT %s", "SELECT * FROM missing_table"]


@pytest.mark.parametrize("library", ["psycopg2", "psycopg"])
def test_postgres_failures_are_flagged_and_reach_the_app_unchanged(postgres_server, down_port, library):
    traces = data_apps.assert_like_ddtrace("postgres_app.py", [library, "failures"],
                                           _env(postgres_server, down_port))
    errors = {s["resource"]: s["meta"]["error.type"] for s in data_apps.spans(traces, "postgres.query")
              if s["error"]}
    assert errors["SELECT pg_sleep(2)"].endswith("QueryCanceled")
    assert errors["SELECT 1"].split(".")[0] == library     # the killed connection


def test_postgres_connect_is_traced_when_asked(postgres_server):
    traces = data_apps.assert_like_ddtrace("postgres_app.py", ["psycopg2"], dict(
        _env(postgres_server), DD_PSYCOPG_TRACE_CONNECT="true"))
    assert len(data_apps.spans(traces, "psycopg2.connect")) == 1


def test_psycopg2_extras_work_on_a_traced_connection(postgres_server):
    # register_type and adapters check for a real connection in C
    import differential
    code = """
        import os, psycopg2, psycopg2.extras
        conn = psycopg2.connect(os.environ["CT_PG_DSN"])
        psycopg2.extras.register_uuid(conn_or_curs=conn)
        psycopg2.extras.register_json(conn)
        cur = conn.cursor()
        cur.execute("SELECT %s::json", (psycopg2.extras.Json({"a": 1}),))
        assert cur.fetchone() == ({"a": 1},)
        assert psycopg2.extensions.quote_ident("x y", conn) == '"x y"'
    """
    traces = differential.run_script("ctrace", code, env=_env(postgres_server))
    assert [s["resource"] for s in data_apps.spans(traces, "postgres.query")][-1] == "SELECT %s::json"
