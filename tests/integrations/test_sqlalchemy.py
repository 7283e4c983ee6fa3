"""SQLAlchemy (Core and ORM, over psycopg2 and sqlite3), differential
against real ddtrace 4.16: off by default (each query is traced once, by
its driver), and when turned on, the engine's span around the driver's,
as ddtrace decides it."""
import pytest

import data_apps


@pytest.mark.parametrize("enabled", [False, True], ids=["default", "enabled"])
def test_sqlalchemy_span_trees_are_ddtraces_and_the_app_sees_the_same(postgres_server, enabled):
    traces = data_apps.assert_like_ddtrace("sqlalchemy_app.py", env={
        "CT_PG_DSN": postgres_server.dsn, "DD_TRACE_SQLALCHEMY_ENABLED": "true" if enabled else "false"})
    spans = data_apps.spans(traces)
    engine_spans = [s for s in spans if s["meta"].get("component") == "sqlalchemy"]
    driver_spans = [s for s in spans if s["meta"].get("component") in ("psycopg", "sqlite")
                    and s["name"].endswith(".query")]
    assert driver_spans
    if not enabled:
        assert engine_spans == []
        return
    # each statement the engine runs: its span, and in it the driver's (the
    # dialect's own queries when it first connects have only the driver's)
    for engine in engine_spans:
        [driver] = [s for s in driver_spans if s["parent_id"] == engine["span_id"]]
        assert driver["resource"] == engine["resource"]
    assert {s["name"] for s in engine_spans} == {"postgres.query", "sqlite.query"}
    pg = [s for s in engine_spans if s["name"] == "postgres.query"]
    assert {s["meta"]["sql.db"] for s in pg} == {"test"}
    assert {s["metrics"]["network.destination.port"] for s in pg} == {postgres_server.port}
    [failed] = [s for s in pg if s["error"]]
    assert failed["resource"] == "SELECT * FROM missing_table"
