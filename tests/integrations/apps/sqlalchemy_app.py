"""SQLAlchemy Core and ORM over psycopg2 (CT_PG_DSN) and sqlite3: engine
statements, a transaction, a failing statement. Under ddtrace-run with its
defaults only the drivers' spans appear; with DD_TRACE_SQLALCHEMY_ENABLED
the engine's too, around them. Reports what the app saw."""
import os

import sqlalchemy
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ddtrace import tracer
from seen import failure, report

DSN = dict(item.split("=", 1) for item in os.environ["CT_PG_DSN"].split())
seen = []


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "sa_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def run(url, pool):
    engine = sqlalchemy.create_engine(url, poolclass=pool)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add_all([Item(name="a"), Item(name="b")])
    with engine.connect() as conn:
        seen.append(conn.execute(text("SELECT count(*) FROM sa_items")).scalar())
        try:
            conn.execute(text("SELECT * FROM missing_table"))
        except Exception as e:
            seen.append([type(e).__module__, type(e).__name__])
    Base.metadata.drop_all(engine)      # every run starts from the same database
    engine.dispose()


with tracer.trace("app.sqlalchemy"):
    run("postgresql+psycopg2://%s@%s:%s/%s" % (DSN["user"], DSN["host"], DSN["port"], DSN["dbname"]),
        sqlalchemy.pool.NullPool)
    run("sqlite://", sqlalchemy.pool.StaticPool)      # one in-memory database throughout
report(seen)
