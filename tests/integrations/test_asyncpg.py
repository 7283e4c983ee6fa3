"""asyncpg against a real PostgreSQL, differential against real ddtrace
4.16; failures (server down, statement timeout, a killed connection)
reach the app unchanged."""
import data_apps


def test_asyncpg_span_trees_are_ddtraces_and_the_app_sees_the_same(postgres_server):
    traces = data_apps.assert_like_ddtrace("asyncpg_app.py", env={"CT_PG_DSN": postgres_server.dsn})
    [connect] = data_apps.spans(traces, "postgres.connect")
    assert connect["metrics"]["network.destination.port"] == postgres_server.port
    queries = data_apps.spans(traces, "postgres.query")
    resources = [s["resource"] for s in queries]
    assert "INSERT INTO apg (name) VALUES ($1)" in resources and "SELECT 40 + 2" in resources
    assert {s["service"] for s in queries} == {"postgres"}
    pooled = [s for s in queries if s["resource"] == "SELECT 40 + 2"]
    assert "db.name" not in pooled[0]["meta"]        # pools: the module's Pin, as in ddtrace
    # a query on a missing table fails while asyncpg prepares it, before
    # any traced protocol method: no span, in ddtrace as here
    assert "SELECT * FROM missing_table" not in resources and not any(s["error"] for s in queries)


def test_asyncpg_failures_are_flagged_and_reach_the_app_unchanged(postgres_server, down_port):
    env = {"CT_PG_DSN": postgres_server.dsn, "CT_DOWN_PORT": str(down_port)}
    traces = data_apps.assert_like_ddtrace("asyncpg_app.py", ["failures"], env)
    errors = [(s["name"], s["meta"]["error.type"]) for s in data_apps.spans(traces) if s["error"]]
    assert errors[0] == ("postgres.connect", "builtins.ConnectionRefusedError")
    assert ("postgres.query", "asyncpg.exceptions.QueryCanceledError") in errors
