"""sqlite3 (and the shared DB-API tracing, contrib/dbapi), against real
ddtrace 4.16: the same app under both tracers gives the same span trees,
and tracing changes nothing the app sees."""
import data_apps
import differential


def test_sqlite3_span_trees_are_ddtraces_and_the_app_sees_the_same():
    traces = data_apps.assert_like_ddtrace("sqlite_app.py")
    queries = data_apps.spans(traces, "sqlite.query")
    assert [s["resource"] for s in queries] == [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO users (name) VALUES (?)",
        "SELECT name FROM users ORDER BY id",
        "UPDATE users SET name = ? WHERE id = ?",
        "SELECT * FROM missing_table"]
    assert {s["service"] for s in queries} == {"sqlite"}
    assert queries[1]["meta"]["sql.executemany"] == "true" and queries[1]["metrics"]["db.row_count"] == 3
    failed = queries[-1]
    assert failed["error"] == 1
    assert failed["meta"]["error.type"] == "sqlite3.OperationalError"
    assert failed["meta"]["error.message"] == "no such table: missing_table"
    assert [s["name"] for s in data_apps.spans(traces) if ".connection." in s["name"]] == [
        "sqlite.connection.commit", "sqlite.connection.rollback"]


def test_sqlite3_fetch_methods_are_traced_when_asked():
    env = {"DD_SQLITE_TRACE_FETCH_METHODS": "true"}
    traces = data_apps.assert_like_ddtrace("sqlite_app.py", env=env)
    assert [s["resource"] for s in data_apps.spans(traces, "sqlite.query.fetchall")] == [
        "SELECT name FROM users ORDER BY id"]


def test_a_failure_of_the_tracing_code_is_counted_and_costs_the_span_not_the_query():
    code = """
        import sqlite3
        from ddtrace import tracer
        from ddtrace.contrib import _safety, dbapi
        def broken(*args):
            raise RuntimeError("a bug in the integration")
        dbapi.ext_service_and_source = broken
        conn = sqlite3.connect(":memory:")
        with tracer.trace("app"):
            assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert _safety.errors["sqlite"] == 2, _safety.errors
    """
    assert [s["name"] for s in data_apps.spans(differential.run_script("ctrace", code))] == ["app"]


def test_unpatch_gives_back_the_plain_driver():
    code = """
        import sqlite3
        import ddtrace
        from ddtrace.contrib.sqlite3 import unpatch
        ddtrace.patch(sqlite3=True)
        assert type(sqlite3.connect(":memory:")).__name__ == "TracedSQLite"
        unpatch()
        assert type(sqlite3.connect(":memory:")) is sqlite3.Connection
        from ddtrace import tracer
        sqlite3.connect(":memory:").execute("SELECT 1")
    """
    assert differential.run_script("ctrace", code, env={"DD_PATCH_MODULES": "sqlite3:false"}) == []


def test_a_cursor_that_is_no_context_manager_fails_as_untraced():
    # ddtrace raises AttributeError here; ctrace the TypeError sqlite3 raises
    code = """
        import sqlite3
        try:
            with sqlite3.connect(":memory:").cursor():
                pass
        except TypeError as e:
            assert "context manager" in str(e), e
        else:
            raise AssertionError("no error")
    """
    differential.run_script("ctrace", code)
