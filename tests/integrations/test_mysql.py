"""PyMySQL and mysqlclient (MySQLdb) against a real MariaDB, differential
against real ddtrace 4.16: same span trees, and tracing changes nothing
the app sees, failures included."""
import pytest

import data_apps

SPAN_OF = {"pymysql": ("pymysql.query", "pymysql"), "MySQLdb": ("mysql.query", "mysql")}


@pytest.mark.parametrize("library", ["pymysql", "MySQLdb"])
def test_mysql_span_trees_are_ddtraces_and_the_app_sees_the_same(mariadb_server, library):
    traces = data_apps.assert_like_ddtrace("mysql_app.py", [library], {"CT_MYSQL_PORT": str(mariadb_server.port)})
    name, service = SPAN_OF[library]
    queries = data_apps.spans(traces, name)
    assert len(queries) == 8 and {s["service"] for s in queries} == {service}
    for span in queries:
        assert (span["meta"]["db.system"], span["meta"]["db.name"], span["meta"]["db.user"]) == (
            "mysql", "test", "test")
        assert span["metrics"]["network.destination.port"] == mariadb_server.port
    assert "double_it" in [s["resource"] for s in queries]          # callproc
    [failed] = [s for s in queries if s["error"]]
    assert failed["meta"]["error.type"].endswith("ProgrammingError")


@pytest.mark.parametrize("library", ["pymysql", "MySQLdb"])
def test_mysql_failures_are_flagged_and_reach_the_app_unchanged(mariadb_server, down_port, library):
    env = {"CT_MYSQL_PORT": str(mariadb_server.port), "CT_DOWN_PORT": str(down_port)}
    traces = data_apps.assert_like_ddtrace("mysql_app.py", [library, "failures"], env)
    errors = [s["resource"] for s in data_apps.spans(traces, SPAN_OF[library][0]) if s["error"]]
    assert errors == ["SELECT SLEEP(2) FROM (SELECT 1 UNION SELECT 2) AS t", "SELECT 1"]
