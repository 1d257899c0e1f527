"""Bulk inserts for the ingest hot path, straight to the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, so the hot path
compiles the INSERT once per dialect and hands the driver plain tuples, converting the two column
types that need it (aware datetimes, JSON) exactly as the column types would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, insert

from touchpoint.store.types import UTCDateTime

Converter = Callable[[Any], Any]


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _utc_datetime(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _converter(column_type: Any, dialect_name: str) -> Converter | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime if dialect_name == "sqlite" else _utc_datetime
    if isinstance(column_type, JSON):
        return _json
    return None


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts keyed by column name; every row has the same keys) in one executemany."""
    if not rows:
        return
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    order = list(compiled.positiontup or keys) if compiled.positional else keys
    converters = [_converter(table.c[key].type, conn.dialect.name) for key in order]
    plan = list(zip(order, converters, strict=True))
    params: list[Any]
    if compiled.positional:
        params = [tuple(c(row[k]) if c else row[k] for k, c in plan) for row in rows]
    else:
        params = [{k: c(row[k]) if c else row[k] for k, c in plan} for row in rows]
    conn.exec_driver_sql(str(compiled), params)
