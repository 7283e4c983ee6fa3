"""psycopg2, psycopg 3 (sync) and psycopg 3 (async) against the PostgreSQL of
CT_PG_DSN ("host=... port=... user=... dbname=..."), the ways ddtrace traces
them: cursors, executemany, callproc, connection-level execute, composed SQL,
context managers, commit/rollback, a failing query, cursors built
directly (``psycopg.Cursor(conn)``). argv[1] picks the
library; prints what the app saw."""
import asyncio
import os
import sys

from ddtrace import tracer
from seen import failure, report

DSN = os.environ["CT_PG_DSN"]
seen = []



def run_psycopg2():
    import psycopg2
    conn = psycopg2.connect(DSN)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS items")
    cur.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
    cur.executemany("INSERT INTO items (name) VALUES (%s)", [("a",), ("b",), ("c",)])
    cur.execute("SELECT name FROM items WHERE id > %s ORDER BY id", (1,))
    seen.append(cur.fetchall())
    cur.callproc("lower", ("ABC",))
    seen.append(cur.fetchone())
    conn.commit()
    with conn.cursor() as c2:
        c2.execute("SELECT count(*) FROM items")
        seen.append(c2.fetchone())
    try:
        cur.execute("SELECT * FROM missing_table")
    except Exception as e:
        seen.append(failure(e))
    conn.rollback()
    with conn:
        with conn.cursor() as c3:
            c3.execute("UPDATE items SET name = %s WHERE id = %s", ("z", 1))
            seen.append(c3.rowcount)
    conn.close()


def run_psycopg():
    import psycopg
    from psycopg import sql
    with psycopg.connect(DSN) as conn:
        conn.execute("DROP TABLE IF EXISTS items3")
        conn.execute("CREATE TABLE items3 (id serial PRIMARY KEY, name text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO items3 (name) VALUES (%s)", [("a",), ("b",)])
            cur.execute(sql.SQL("SELECT {} FROM {} ORDER BY id").format(
                sql.Identifier("name"), sql.Identifier("items3")))
            seen.append(cur.fetchall())
        conn.commit()
        try:
            conn.execute("SELECT * FROM missing_table")
        except Exception as e:
            seen.append(failure(e))
        conn.rollback()
        seen.append(conn.execute("SELECT 1").fetchone())


async def run_psycopg_async():
    import psycopg
    async with await psycopg.AsyncConnection.connect(DSN) as conn:
        await conn.execute("DROP TABLE IF EXISTS items_a")
        await conn.execute("CREATE TABLE items_a (id serial PRIMARY KEY, name text)")
        async with conn.cursor() as cur:
            await cur.executemany("INSERT INTO items_a (name) VALUES (%s)", [("a",), ("b",)])
            await cur.execute("SELECT name FROM items_a ORDER BY id")
            seen.append(await cur.fetchall())
        await conn.commit()
        try:
            await conn.execute("SELECT * FROM missing_table")
        except Exception as e:
            seen.append(failure(e))
        await conn.rollback()


def run_psycopg_cursors():
    """Cursors built directly on the connection, not by conn.cursor()."""
    import psycopg
    from psycopg.rows import dict_row
    with psycopg.connect(DSN) as conn:
        cur = psycopg.Cursor(conn)
        cur.execute("SELECT 1")
        seen.append(cur.fetchall())
        with psycopg.Cursor(conn, row_factory=dict_row) as named:
            named.execute("SELECT 2 AS two")
            seen.append(named.fetchall())
        by_keyword = psycopg.ClientCursor(connection=conn)
        by_keyword.execute("SELECT %s", (3,))
        seen.append(by_keyword.fetchone())
        cur = psycopg.Cursor(connection=conn)
        cur.execute("SELECT %s", (4,))
        seen.append(cur.fetchone())
        cur.connection.commit()
        try:
            psycopg.Cursor(conn).execute("SELECT * FROM missing_table")
        except Exception as e:
            seen.append(failure(e))


async def run_psycopg_async_cursors():
    import psycopg
    async with await psycopg.AsyncConnection.connect(DSN) as conn:
        cur = psycopg.AsyncCursor(conn)
        await cur.execute("SELECT 1")
        seen.append(await cur.fetchall())
        async with psycopg.AsyncCursor(connection=conn) as cur2:
            await cur2.execute("SELECT %s", (2,))
            seen.append(await cur2.fetchone())
        try:
            await psycopg.AsyncCursor(conn).execute("SELECT * FROM missing_table")
        except Exception as e:
            seen.append(failure(e))


def failures(module):
    """Server down, a statement timeout, a connection killed by the server:
    each exception exactly as the driver raises it."""
    down = os.environ["CT_DOWN_PORT"]
    try:
        module.connect("host=127.0.0.1 port=%s user=postgres dbname=test connect_timeout=2" % down)
    except Exception as e:
        seen.append(failure(e))
    conn = module.connect(DSN)
    cur = conn.cursor()
    cur.execute("SET statement_timeout = 50")
    try:
        cur.execute("SELECT pg_sleep(2)")
    except Exception as e:
        seen.append(failure(e))
    conn.rollback()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    killer = module.connect(DSN)
    killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    try:
        cur.execute("SELECT 1")
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__])
    seen.append(bool(conn.closed))


with tracer.trace("app.postgres"):
    which = sys.argv[1]
    if sys.argv[2:] == ["failures"]:
        failures(__import__(which))
    elif which == "psycopg2":
        run_psycopg2()
    elif which == "psycopg":
        run_psycopg()
    elif which == "psycopg_cursors":
        run_psycopg_cursors()
    elif which == "psycopg_async_cursors":
        asyncio.run(run_psycopg_async_cursors())
    else:
        asyncio.run(run_psycopg_async())
report(seen)
