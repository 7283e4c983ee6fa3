"""asyncpg against the PostgreSQL of CT_PG_DSN: connect, execute, fetch,
fetchrow, executemany, a prepared statement, a transaction, a pool, a
failing query; "failures": server down, a statement timeout, a connection
the server killed. Reports what the app saw."""
import asyncio
import os
import sys

import asyncpg

from ddtrace import tracer
from seen import failure, report

DSN = dict(item.split("=", 1) for item in os.environ["CT_PG_DSN"].split())
seen = []


def connect(**extra):
    return asyncpg.connect(host=DSN["host"], port=int(DSN["port"]), user=DSN["user"],
                           database=DSN["dbname"], **extra)


async def run():
    conn = await connect()
    await conn.execute("DROP TABLE IF EXISTS apg")
    await conn.execute("CREATE TABLE apg (id serial PRIMARY KEY, name text)")
    await conn.executemany("INSERT INTO apg (name) VALUES ($1)", [("a",), ("b",)])
    seen.append([tuple(r) for r in await conn.fetch("SELECT name FROM apg ORDER BY id")])
    seen.append(tuple(await conn.fetchrow("SELECT count(*) FROM apg WHERE name = $1", "a")))
    statement = await conn.prepare("SELECT name FROM apg WHERE id = $1")
    seen.append(await statement.fetchval(2))
    async with conn.transaction():
        await conn.execute("UPDATE apg SET name = 'z' WHERE id = 1")
    try:
        await conn.fetch("SELECT * FROM missing_table")
    except Exception as e:
        seen.append(failure(e))
    await conn.close()
    pool = await asyncpg.create_pool(host=DSN["host"], port=int(DSN["port"]), user=DSN["user"],
                                     database=DSN["dbname"], min_size=1, max_size=1)
    async with pool.acquire() as pooled:
        seen.append(await pooled.fetchval("SELECT 40 + 2"))
    await pool.close()


async def failures():
    try:
        await asyncpg.connect(host="127.0.0.1", port=int(os.environ["CT_DOWN_PORT"]), user="postgres",
                              database="test", timeout=2)
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__])
    conn = await connect(server_settings={"statement_timeout": "50"})
    try:
        await conn.execute("SELECT pg_sleep(2)")
    except Exception as e:
        seen.append(failure(e))
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    killer = await connect()
    await killer.execute("SELECT pg_terminate_backend($1)", pid)
    await killer.close()
    await asyncio.sleep(0.3)    # the event loop reads the server's goodbye: one outcome, not a race
    try:
        await conn.fetchval("SELECT 1")
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__])


with tracer.trace("app.asyncpg"):
    asyncio.run(failures() if sys.argv[1:] == ["failures"] else run())
report(seen)
