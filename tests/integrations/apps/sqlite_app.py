"""sqlite3 the ways ddtrace traces it: cursors, executemany, connection-level
execute, context managers, commit/rollback, a failing query. Run under
ddtrace-run (either tracer) or plain python; prints what the app saw."""
import sqlite3

from ddtrace import tracer
from seen import report

seen = []
with tracer.trace("app.sqlite"):
    conn = sqlite3.connect(":memory:")
    cur = conn.cursor()
    cur.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    cur.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("bob",), ("cy",)])
    seen.append(cur.rowcount)
    conn.commit()
    seen.append(conn.execute("SELECT name FROM users ORDER BY id").fetchall())
    with conn:
        conn.execute("UPDATE users SET name = ? WHERE id = ?", ("al", 1))
    try:
        conn.execute("SELECT * FROM missing_table")
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__, str(e)])
    conn.rollback()
    conn.close()
report(seen)
