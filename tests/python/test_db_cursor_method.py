"""A traced DB-API cursor's execute, executemany and callproc as C method
descriptors (``_ctrace.DbCursorMethod``, src/python/db_cursor.h), with
sqlite3 in-process and recording fake cursors: which calls take the C path
and which the Python one, the span's fields against the Python path's, the
driver's exceptions and results passed on unchanged, rowcounts of every
kind, a disabled tracer, service settings changed at run time, failures
of the tracing, and no leak over 10,000 queries.

The differential tests (tests/integrations/test_sqlite3.py, test_psycopg.py)
compare the same spans with real ddtrace's."""
import gc
import inspect
import sqlite3
import sys

import pytest

from ddtrace import _ctrace, config
from ddtrace.contrib import _safety, dbapi
from ddtrace.contrib.sqlite3.patch import TracedSQLite, TracedSQLiteCursor
from ddtrace.propagation import _database_monitoring as _dbm
from tracer_helpers import one_span, settings_restored, take_spans

QUERY_METHODS = ((dbapi.TracedCursor, "execute"), (dbapi.TracedCursor, "executemany"),
                 (dbapi.TracedCursor, "callproc"), (TracedSQLiteCursor, "execute"),
                 (TracedSQLiteCursor, "executemany"))


@pytest.fixture
def conn(tracer):
    made = TracedSQLite(sqlite3.connect(":memory:"))
    made.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    take_spans()
    yield made
    made.close()


def python_calls(call):
    """call()'s result and how many Python functions ran during it."""
    calls = []

    def profile(frame, event, arg):
        if event == "call":
            calls.append(frame.f_code.co_name)
    sys.setprofile(profile)
    try:
        result = call()
    finally:
        sys.setprofile(None)
    return result, [name for name in calls if name not in ("python_calls", "<lambda>")]


def comparable(span):
    """A span without what differs between two runs of the same query."""
    return {key: value for key, value in span.items()
            if key not in ("span_id", "trace_id", "parent_id", "start", "duration")}


class FakeCursor:
    """A driver's cursor that records its calls and gives what it is told."""

    def __init__(self, rowcount=-1, error=None):
        self.rowcount = rowcount
        self.error = error
        self.calls = []

    def _run(self, method, args, kwargs):
        self.calls.append((method, args, kwargs))
        if self.error is not None:
            raise self.error
        return ("result of", method)

    def execute(self, *args, **kwargs):
        return self._run("execute", args, kwargs)

    def executemany(self, *args, **kwargs):
        return self._run("executemany", args, kwargs)

    def callproc(self, *args, **kwargs):
        return self._run("callproc", args, kwargs)


def fake_traced(cursor, cursor_cls=dbapi.TracedCursor):
    return cursor_cls(cursor, cfg=config.dbapi2, db_tags={"db.system": "fakedb"})


# -- routing --------------------------------------------------------------------------


def test_the_query_methods_are_c_descriptors_wrapping_the_python_ones():
    for owner, name in QUERY_METHODS:
        method = owner.__dict__[name]
        assert isinstance(method, _ctrace.DbCursorMethod), (owner, name)
        python = method.__wrapped__
        assert inspect.isfunction(python) and python.__name__ == name
        assert (method.__name__, method.__qualname__, method.__module__, method.__doc__) == \
            (python.__name__, python.__qualname__, python.__module__, python.__doc__)
        assert inspect.signature(method) == inspect.signature(python)
    assert TracedSQLiteCursor.__dict__["executemany"].__wrapped__ is not \
        dbapi.TracedCursor.__dict__["executemany"].__wrapped__


def test_a_sqlite_query_runs_no_python_function_and_returns_the_traced_cursor(conn):
    cursor = conn.cursor()
    cursor.execute("SELECT 1")                         # warm-up: each method resolves the service once
    cursor.executemany("INSERT INTO users (name) VALUES (?)", [("w",)])
    take_spans()
    returned, calls = python_calls(lambda: cursor.execute("SELECT name FROM users WHERE id = ?", (1,)))
    assert calls == []
    assert returned is cursor
    returned, calls = python_calls(lambda: cursor.executemany("INSERT INTO users (name) VALUES (?)",
                                                              [("a",), ("b",)]))
    assert calls == []
    assert returned is cursor
    assert [s["resource"] for s in take_spans()] == ["SELECT name FROM users WHERE id = ?",
                                                      "INSERT INTO users (name) VALUES (?)"]


def test_every_way_of_calling_the_method_reaches_the_driver_and_is_traced(tracer):
    fake = FakeCursor()
    traced = fake_traced(fake)
    assert dbapi.TracedCursor.execute(traced, "Q1") == ("result of", "execute")       # unbound
    bound = traced.execute
    assert bound("Q2", (1,), option=True) == ("result of", "execute")                 # bound, keywords
    assert traced.executemany("Q3", [(1,), (2,)]) == ("result of", "executemany")
    assert traced.callproc("P", (1, 2)) == ("result of", "callproc")
    assert fake.calls == [("execute", ("Q1",), {}), ("execute", ("Q2", (1,)), {"option": True}),
                          ("executemany", ("Q3", [(1,), (2,)]), {}), ("callproc", ("P", (1, 2)), {})]
    assert [s["resource"] for s in take_spans()] == ["Q1", "Q2", "Q3", "P"]
    with pytest.raises(TypeError):
        dbapi.TracedCursor.execute()                     # no cursor: the Python method's error
    with pytest.raises(TypeError):
        traced.callproc("P", parameters=(1,))            # callproc takes no keywords, as in ddtrace
    assert take_spans() == []


def test_the_c_span_is_the_python_paths_span(conn):
    cursor = conn.cursor()
    for name, query, args in (("execute", "INSERT INTO users (name) VALUES (?)", (("x",),)),
                              ("executemany", "INSERT INTO users (name) VALUES (?)", ([("y",), ("z",)],)),
                              ("execute", "SELECT * FROM users", ())):
        method = TracedSQLiteCursor.__dict__[name]
        assert method(cursor, query, *args) is cursor
        in_c = one_span()
        assert method.__wrapped__(cursor, query, *args) is cursor
        in_python = one_span()
        assert comparable(in_c) == comparable(in_python)
        assert (in_c["name"], in_c["service"], in_c["resource"], in_c["type"]) == \
            ("sqlite.query", "sqlite", query, "sql")
        assert in_c["meta"]["component"] == "sqlite" and in_c["meta"]["span.kind"] == "client"
        assert in_c["meta"]["db.system"] == "sqlite" and in_c["meta"]["_dd.svc_src"] == "sqlite"
        assert in_c["metrics"]["_dd.measured"] == 1
        assert cursor._self_tracing.last_query == query
    spans = [in_c]
    assert spans[0]["metrics"]["db.row_count"] == -1    # a SELECT's rowcount in sqlite3


def test_executemany_is_tagged_and_counts_its_rows(conn):
    cursor = conn.cursor()
    cursor.executemany("INSERT INTO users (name) VALUES (?)", [("a",), ("b",), ("c",)])
    span = one_span()
    assert span["meta"]["sql.executemany"] == "true"
    assert span["metrics"]["db.row_count"] == 3
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)


def test_callproc_is_traced_with_the_procedure_as_resource(tracer):
    fake = FakeCursor(rowcount=2)
    traced = fake_traced(fake)
    assert traced.callproc("refresh_stats", (7,)) == ("result of", "callproc")
    span = one_span()
    assert (span["name"], span["service"], span["resource"], span["type"]) == \
        ("sql.query", "db", "refresh_stats", "sql")
    assert span["metrics"]["db.row_count"] == 2
    assert "sql.executemany" not in span["meta"]
    assert traced._self_tracing.last_query == "refresh_stats"


def test_dbm_comment_injection_takes_the_python_path(tracer, monkeypatch):
    monkeypatch.setattr(_dbm, "MODE", "service")
    fake = FakeCursor()
    traced = fake_traced(fake)
    traced._self_tracing.dbm_injector = _dbm.default_injector
    _, calls = python_calls(lambda: traced.execute("SELECT 1"))
    assert "traced_call" in calls
    sent = fake.calls[0][1][0]
    assert sent.endswith("SELECT 1") and sent.startswith("/*") and "dddbs=" in sent
    assert one_span()["resource"] == "SELECT 1"


def test_rare_calls_take_the_python_path_and_behave_as_it_does(tracer):
    fake = FakeCursor()
    traced = fake_traced(fake)
    _, calls = python_calls(lambda: traced.execute(query="Q"))          # the query by keyword
    assert "traced_call" in calls
    many = tuple(range(20))                                             # more arguments than the C stack
    _, calls = python_calls(lambda: traced.execute("Q", *many))
    assert "traced_call" in calls
    assert [c[1:] for c in fake.calls] == [(("Q",), {}), (("Q",) + many, {})]
    assert [s["resource"] for s in take_spans()] == ["Q", "Q"]


def test_a_cursor_without_tracing_state_fails_as_the_python_method_does(tracer):
    traced = fake_traced(FakeCursor())
    del traced._self_tracing
    with pytest.raises(AttributeError) as in_c:
        traced.execute("Q")
    with pytest.raises(AttributeError) as in_python:
        dbapi.TracedCursor.execute.__wrapped__(traced, "Q")
    assert str(in_c.value) == str(in_python.value)
    assert take_spans() == []


def test_too_many_integration_configs_take_the_python_path(tracer):
    configs = []
    for i in range(10):
        name = "fakedb%d" % i
        config._add(name, dict(_default_service=name))
        configs.append(getattr(config, name))
    calls_per_config = []
    for cfg in configs:
        traced = dbapi.TracedCursor(FakeCursor(), cfg=cfg)
        traced.execute("Q")
        _, calls = python_calls(lambda: traced.execute("Q"))
        calls_per_config.append("traced_call" in calls)
    spans = take_spans()
    assert [s["service"] for s in spans] == [cfg.integration_name for cfg in configs for _ in (1, 2)]
    assert calls_per_config[0] is False         # the C path for the first ones...
    assert calls_per_config[-1] is True         # ...the Python one past the method's slots


# -- the driver's errors and results ---------------------------------------------------


def test_the_drivers_exception_reaches_the_app_unchanged_and_is_recorded(conn):
    cursor = conn.cursor()
    with pytest.raises(sqlite3.OperationalError) as raised:
        cursor.execute("SELECT * FROM missing_table")
    assert type(raised.value) is sqlite3.OperationalError
    assert str(raised.value) == "no such table: missing_table"
    assert raised.value.__traceback__ is not None
    span = one_span()
    assert span["error"] == 1
    assert span["meta"]["error.type"] == "sqlite3.OperationalError"
    assert span["meta"]["error.message"] == "no such table: missing_table"
    assert "OperationalError" in span["meta"]["error.stack"]
    assert span["metrics"]["db.row_count"] == -1
    with pytest.raises(sqlite3.OperationalError):
        TracedSQLiteCursor.execute.__wrapped__(cursor, "SELECT * FROM missing_table")
    assert comparable(span)["meta"].keys() == comparable(one_span())["meta"].keys()


def test_the_very_exception_object_is_re_raised(tracer):
    error = ValueError("the driver's own")
    traced = fake_traced(FakeCursor(error=error))
    for method in (traced.execute, traced.executemany, traced.callproc):
        with pytest.raises(ValueError) as raised:
            method("Q", ())
        assert raised.value is error
    spans = take_spans()
    assert [(s["error"], s["meta"]["error.type"], s["meta"]["error.message"]) for s in spans] == \
        [(1, "builtins.ValueError", "the driver's own")] * 3
    assert all("ValueError" in s["meta"]["error.stack"] for s in spans)
    assert tracer.current_span() is None


def test_a_keyboard_interrupt_in_the_driver_propagates_with_the_span_finished(tracer):
    traced = fake_traced(FakeCursor(error=KeyboardInterrupt()))
    with tracer.trace("parent"):
        with pytest.raises(KeyboardInterrupt):
            traced.execute("Q")
        assert tracer.current_span().name == "parent"
    spans = take_spans()
    assert sorted(s["name"] for s in spans) == ["parent", "sql.query"]
    query = [s for s in spans if s["name"] == "sql.query"][0]
    assert query["error"] == 1 and query["meta"]["error.type"] == "builtins.KeyboardInterrupt"


class Counted:
    """A rowcount that is no int (a driver's own type)."""

    def __int__(self):
        return 3


class RaisingRowcount(FakeCursor):
    def __init__(self, error):
        super().__init__()
        self.rowcount_error = error

    @property
    def rowcount(self):
        raise self.rowcount_error

    @rowcount.setter
    def rowcount(self, value):
        pass


@pytest.mark.parametrize("rowcount, tagged", [
    (5, 5), (0, 0), (-1, -1), (None, None), (True, None), ("3", None), (3.0, None), (Counted(), None),
])
def test_the_row_count_is_tagged_only_for_an_int_as_the_python_path_does(tracer, rowcount, tagged):
    traced = fake_traced(FakeCursor(rowcount=rowcount))
    traced.execute("Q")
    in_c = one_span()
    dbapi.TracedCursor.execute.__wrapped__(traced, "Q")
    in_python = one_span()
    if tagged is None:
        assert "db.row_count" not in in_c["metrics"]
    else:
        assert in_c["metrics"]["db.row_count"] == tagged
    assert in_c["metrics"].get("db.row_count") == in_python["metrics"].get("db.row_count")


def test_a_cursor_without_rowcount_is_traced_without_one(tracer):
    traced = fake_traced(RaisingRowcount(AttributeError("no rowcount")))
    assert traced.execute("Q") == ("result of", "execute")
    span = one_span()
    assert span["error"] == 0 and "db.row_count" not in span["metrics"]


def test_a_rowcount_that_fails_is_counted_and_costs_only_the_tag(tracer):
    traced = fake_traced(RaisingRowcount(RuntimeError("broken driver property")))
    before = _safety.errors["dbapi2"]
    assert traced.execute("Q") == ("result of", "execute")
    assert _safety.errors["dbapi2"] == before + 1
    span = one_span()
    assert span["error"] == 0 and "db.row_count" not in span["metrics"]
    assert tracer.current_span() is None


# -- the tracer and the service ------------------------------------------------------


def test_a_disabled_tracer_makes_no_span_and_the_query_still_runs(conn, tracer):
    cursor = conn.cursor()
    tracer.enabled = False
    try:
        assert cursor.execute("INSERT INTO users (name) VALUES ('off')") is cursor
        _, calls = python_calls(lambda: cursor.execute("SELECT name FROM users"))
        assert "execute" in calls                    # the Python method took it
        assert cursor.fetchall() == [("off",)]
    finally:
        tracer.enabled = True
    assert take_spans() == []
    cursor.execute("SELECT 1")
    assert one_span()["resource"] == "SELECT 1"


def test_a_service_set_at_run_time_is_followed(conn):
    from ddtrace.contrib.trace_utils import ext_service_and_source
    cursor = conn.cursor()
    with settings_restored(config.sqlite):
        config.sqlite.service = "user-db"
        cursor.execute("SELECT 1")
        span = one_span()
        assert span["service"] == "user-db"
        assert span["meta"].get("_dd.svc_src", "") == ext_service_and_source(config.sqlite)[1]
    cursor.execute("SELECT 1")
    span = one_span()
    assert (span["service"], span["meta"]["_dd.svc_src"]) == ("sqlite", "sqlite")


def test_the_service_mapping_is_followed(conn):
    cursor = conn.cursor()
    saved = config.service_mapping
    try:
        config.service_mapping = {"sqlite": "mapped-db"}
        cursor.execute("SELECT 1")
        span = one_span()
        assert (span["service"], span["meta"]["_dd.svc_src"]) == ("mapped-db", "opt.service_mapping")
    finally:
        config.service_mapping = saved
    cursor.execute("SELECT 1")
    assert one_span()["service"] == "sqlite"


def test_pin_override_changes_nothing_as_in_ddtrace_4(conn):
    # ddtrace 4.16's sqlite3 spans keep the integration's service whatever
    # Pin.override says (checked against it); the C path does the same
    from ddtrace.trace import Pin
    Pin.override(conn, service="pinned-db")
    cursor = conn.cursor()
    Pin.override(cursor, service="pinned-db")
    cursor.execute("SELECT 1")
    in_c = one_span()
    TracedSQLiteCursor.execute.__wrapped__(cursor, "SELECT 1")
    assert in_c["service"] == one_span()["service"] == "sqlite"


def test_the_query_span_is_a_child_of_the_active_span_and_nothing_stays_active(conn, tracer):
    with tracer.trace("parent") as parent:
        conn.execute("SELECT 1")
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("SELEKT")
        assert tracer.current_span() is parent
    spans = take_spans()
    children = [s for s in spans if s["name"] == "sqlite.query"]
    assert len(children) == 2 and all(s["parent_id"] == parent.span_id for s in children)
    assert tracer.current_span() is None


# -- failures of the tracing ----------------------------------------------------------


def test_a_failing_resource_hook_is_counted_under_the_integration_and_the_query_runs(tracer):
    class Hooked(dbapi.TracedCursor):
        @staticmethod
        def _resource_of(cursor, query):
            raise RuntimeError("a bug in the hook")

    fake = FakeCursor()
    traced = Hooked(fake, cfg=config.sqlite)
    before = dict(_safety.errors)
    assert traced.execute("Q", (1,)) == ("result of", "execute")
    assert fake.calls == [("execute", ("Q", (1,)), {})]
    assert _safety.errors["sqlite"] == before.get("sqlite", 0) + 1
    assert _safety.errors["dbapi2"] == before.get("dbapi2", 0)
    assert take_spans() == []


def test_a_text_keeping_hook_is_not_called_for_text(tracer):
    seen = []

    def keeps_text(cursor, query):
        seen.append(query)
        return query

    class Hooked(dbapi.TracedCursor):
        _resource_of = staticmethod(keeps_text)

    traced = Hooked(FakeCursor(), cfg=config.dbapi2)
    traced.execute("Q1")
    dbapi.TEXT_KEEPING_RESOURCE_HOOKS.add(keeps_text)
    try:
        traced.execute("Q2")
        traced.execute(b"Q3")                        # not text: the hook decides
    finally:
        dbapi.TEXT_KEEPING_RESOURCE_HOOKS.discard(keeps_text)
    assert seen == ["Q1", b"Q3"]
    assert [s["resource"] for s in take_spans()][:2] == ["Q1", "Q2"]


def test_a_failing_service_resolver_is_counted_and_the_query_runs_untraced(conn, monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug in the integration")

    cursor = conn.cursor()
    before = _safety.errors["sqlite"]
    monkeypatch.setattr(dbapi, "ext_service_and_source", broken)
    with settings_restored(config.sqlite):
        config.sqlite.service = "resolved-again"     # a changed setting: the resolver runs
        assert cursor.execute("SELECT 41 + 1").fetchone() == (42,)
    assert _safety.errors["sqlite"] == before + 1
    assert take_spans() == []


class Unprintable:
    def __str__(self):
        raise ValueError("no text")


def test_malformed_tags_cost_only_themselves(tracer):
    traced = fake_traced(FakeCursor(rowcount=1))
    traced._self_tracing.tags = {"good": "tag", 3: "a key that is no str", "bad": Unprintable()}
    before = dict(_safety.errors)
    assert traced.execute("Q") == ("result of", "execute")
    span = one_span()
    assert span["resource"] == "Q" and span["meta"]["good"] == "tag"
    assert "bad" not in span["meta"] and span["metrics"]["db.row_count"] == 1
    assert dict(_safety.errors) == before      # set_tag drops them itself, as ddtrace's does


# -- references -----------------------------------------------------------------------


def test_ten_thousand_queries_leak_no_reference_or_memory(conn, tracer):
    cursor = conn.cursor()
    query, parameters = "SELECT name FROM users WHERE id = ?", (1,)
    failing = "SELECT * FROM missing_table"
    fake = FakeCursor(rowcount=Counted())
    traced = fake_traced(fake)

    def run(queries):
        for i in range(queries):
            cursor.execute(query, parameters)
            if i % 10 == 0:
                try:
                    cursor.execute(failing)
                except sqlite3.OperationalError:
                    pass
                traced.executemany(query, parameters)
                fake.calls.clear()
            if i % 1000 == 999:
                tracer._take_payload(4)     # (the in-memory writer keeps what is not taken)
        tracer._take_payload(4)

    run(2000)  # warm-up: caches, free lists, the writer's buffers
    gc.collect()
    refs = [sys.getrefcount(obj) for obj in (query, parameters, failing, cursor, traced, tracer)]
    objects, blocks = len(gc.get_objects()), sys.getallocatedblocks()
    run(10000)
    gc.collect()
    after = [sys.getrefcount(obj) for obj in (query, parameters, failing, cursor, traced, tracer)]
    # (+-1 on the texts: the extension's string cache and sqlite3's statement cache)
    assert all(abs(now - was) <= 1 for now, was in zip(after[:3], refs[:3])), (after, refs)
    assert after[3:] == refs[3:]
    assert len(gc.get_objects()) - objects < 200
    assert sys.getallocatedblocks() - blocks < 1000    # one leaked block per query is 10,000
