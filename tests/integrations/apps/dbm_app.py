"""What the database server receives under DD_DBM_PROPAGATION_MODE: each
client asks the server for the text of the statement it is running, so the
comment the tracer put in front is what the app reports (psycopg2, psycopg 3
with composed SQL, PyMySQL, mysqlclient; "asyncpg": asyncpg alone, a text
query, a prepared one and executemany)."""
import asyncio
import os
import sys

import MySQLdb
import psycopg
import psycopg2
import pymysql
from psycopg import sql

from ddtrace import tracer
from seen import report

PG = os.environ["CT_PG_DSN"]
MYSQL = dict(host="127.0.0.1", port=int(os.environ["CT_MYSQL_PORT"]), user="test", password="test",
             database="test")
PG_SELF = "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()"
MYSQL_SELF = "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
seen = []


def ask(conn, statement):
    cur = conn.cursor()
    cur.execute(statement)
    seen.append(cur.fetchone()[0])
    conn.close()


async def ask_asyncpg():
    import asyncpg
    dsn = dict(item.split("=", 1) for item in PG.split())
    conn = await asyncpg.connect(host=dsn["host"], port=int(dsn["port"]), user=dsn["user"], database=dsn["dbname"])
    # a text query returns no rows: it keeps its own text in a table
    await conn.execute("CREATE TEMP TABLE seen AS " + PG_SELF)
    seen.append(await conn.fetchval("SELECT query FROM seen"))
    seen.append(await conn.fetchval(PG_SELF))       # prepared
    await conn.executemany("INSERT INTO seen (query) VALUES ($1)", [("a",)])
    seen.append(await conn.fetchval("SELECT count(*) FROM seen"))
    await conn.close()


with tracer.trace("app.dbm"):
    if sys.argv[1:] == ["asyncpg"]:
        asyncio.run(ask_asyncpg())
    else:
        ask(psycopg2.connect(PG), PG_SELF)
        ask(psycopg.connect(PG), sql.SQL(PG_SELF))
        ask(pymysql.connect(**MYSQL), MYSQL_SELF)
        ask(MySQLdb.connect(host=MYSQL["host"], port=MYSQL["port"], user="test", passwd="test", db="test"),
            MYSQL_SELF)
report(seen)
