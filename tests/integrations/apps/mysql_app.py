"""PyMySQL and mysqlclient against the MariaDB of CT_MYSQL_PORT (user, password
and database "test"), the ways ddtrace traces them: cursors, executemany,
callproc, commit/rollback, a failing query; "failures": server down, a
query timeout, a connection the server killed. argv[1] picks the library;
reports what the app saw."""
import os
import sys

from ddtrace import tracer
from seen import failure, report

PORT = int(os.environ["CT_MYSQL_PORT"])
seen = []


def connect(module, port=PORT, **extra):
    if module.__name__ == "pymysql":
        return module.connect(host="127.0.0.1", port=port, user="test", password="test", database="test",
                              **extra)
    return module.connect(host="127.0.0.1", port=port, user="test", passwd="test", db="test", **extra)


def run(module):
    conn = connect(module)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS items")
    cur.execute("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
    cur.executemany("INSERT INTO items (name) VALUES (%s)", [("a",), ("b",), ("c",)])
    seen.append(cur.rowcount)
    conn.commit()
    cur.execute("SELECT name FROM items WHERE id > %s ORDER BY id", (1,))
    seen.append(list(cur.fetchall()))
    cur.execute("DROP PROCEDURE IF EXISTS double_it")
    cur.execute("CREATE PROCEDURE double_it(IN x INT) SELECT x * 2")
    cur.callproc("double_it", (21,))
    seen.append(list(cur.fetchall()))
    cur.close()
    with conn.cursor() as c2:
        try:
            c2.execute("SELECT * FROM missing_table")
        except Exception as e:
            seen.append(failure(e))
    conn.rollback()
    conn.close()


def failures(module):
    try:
        connect(module, port=int(os.environ["CT_DOWN_PORT"]), connect_timeout=2)
    except Exception as e:
        seen.append(failure(e))
    conn = connect(module)
    cur = conn.cursor()
    cur.execute("SET SESSION max_statement_time = 0.05")
    try:
        cur.execute("SELECT SLEEP(2) FROM (SELECT 1 UNION SELECT 2) AS t")
        seen.append(list(cur.fetchall()))
    except Exception as e:
        seen.append(failure(e))
    cur.execute("SELECT CONNECTION_ID()")
    me = cur.fetchone()[0]
    killer = connect(module)
    killer.cursor().execute("KILL %s", (me,))     # the same resource in every run
    killer.close()
    try:
        cur.execute("SELECT 1")
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__])


with tracer.trace("app.mysql"):
    module = __import__(sys.argv[1])
    if sys.argv[2:] == ["failures"]:
        failures(module)
    else:
        run(module)
report(seen)
