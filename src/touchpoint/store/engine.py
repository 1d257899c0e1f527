"""Engine creation for the embedded SQLite default and PostgreSQL, plus the write-transaction rule.

Writers serialise: SQLite takes its write lock up front (BEGIN IMMEDIATE) and PostgreSQL takes one
transaction-scoped advisory lock, so two concurrent ingests never both create a customer for the
same identity (see docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text

from touchpoint.settings import Settings

INGEST_LOCK_ID = 0x70C4  # arbitrary constant: the advisory lock ingesting writers share in PG


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"timeout": 60, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_pre_ping=True
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite recipe in the SQLAlchemy docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("touchpoint_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the single-writer lock for identity resolution."""
    with engine.connect() as conn:
        conn.execution_options(touchpoint_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": INGEST_LOCK_ID})
            yield conn


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
