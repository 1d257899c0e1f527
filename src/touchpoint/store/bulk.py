"""Bulk statements for the ingest hot path: INSERTs straight to the driver's executemany, and
lookups of a whole set of keys in one statement with one parameter.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, so inserts compile
once per table, columns and dialect and hand the driver plain tuples, converting the two column
types that need it (aware datetimes, JSON) exactly as the column types would, a column at a time.

A set lookup sends its keys as one parameter (a JSON array for SQLite's `json_each`, an array for
PostgreSQL's `= ANY`), so the statement is the same whatever the number of keys and compiles once;
the matches come back as one aggregated JSON value rather than one row object per match.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect

from touchpoint.store.types import UTCDateTime

ColumnConverter = Callable[[Sequence[Any]], Sequence[Any]]


def _sqlite_datetimes(values: Sequence[datetime | None]) -> list[str | None]:
    """Aware datetimes as SQLite's naive-UTC text (the format SQLAlchemy's DateTime stores)."""
    first = values[0] if values else None
    if first is not None and all(value == first for value in values):  # one moment (received_at)
        return [_sqlite_datetime(first)] * len(values)
    try:
        texts = [value.isoformat(" ", "microseconds") for value in values]  # type: ignore[union-attr]
    except AttributeError:  # a None among them
        return [None if value is None else _sqlite_datetime(value) for value in values]
    # The common case, UTC already: the text is the UTC wall time followed by "+00:00".
    utc = [text[:26] for text in texts if text[26:] == "+00:00"]
    if len(utc) == len(texts):
        return utc
    return [_sqlite_datetime(value) for value in values]  # type: ignore[arg-type]


def _sqlite_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime reached the database; timestamps must be aware")
    # Shifting by the offset gives the UTC wall time; the slice drops the old offset.
    return (value - offset).isoformat(" ", "microseconds")[:26]


def _utc_datetimes(values: Sequence[datetime | None]) -> list[datetime | None]:
    return [None if value is None else value.astimezone(UTC) for value in values]


def _json(values: Sequence[Any]) -> list[str]:
    dumps = orjson.dumps
    return [dumps(value).decode() for value in values]


def _converter(column_type: Any, dialect_name: str) -> ColumnConverter | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetimes if dialect_name == "sqlite" else _utc_datetimes
    if isinstance(column_type, JSON):
        return _json
    return None


Plan = tuple[str, list[int], list[tuple[int, ColumnConverter]], list[str] | None]


def _plan(table: Table, compiled: Any, columns: tuple[str, ...], dialect: Dialect) -> Plan:
    """The statement's SQL, which input column feeds each parameter, the conversions by parameter,
    and the parameter names when the driver takes named parameters."""
    order = list(compiled.positiontup or columns) if compiled.positional else list(columns)
    converters = [(i, _converter(table.c[name].type, dialect.name)) for i, name in enumerate(order)]
    conversions = [(i, convert) for i, convert in converters if convert is not None]
    names = None if compiled.positional else order
    return str(compiled), [columns.index(name) for name in order], conversions, names


@lru_cache(maxsize=64)
def _insert_plan(table: Table, columns: tuple[str, ...], dialect: Dialect) -> Plan:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    return _plan(table, compiled, columns, dialect)


@lru_cache(maxsize=64)
def _update_plan(table: Table, columns: tuple[str, ...], dialect: Dialect) -> Plan:
    """UPDATE table SET columns[1:] WHERE columns[0] = ?, parameters named after the columns."""
    key, *changed = columns
    statement = (
        update(table)
        .where(table.c[key] == bindparam(key))
        .values({name: bindparam(name) for name in changed})
    )
    compiled = statement.compile(dialect=dialect)
    return _plan(table, compiled, columns, dialect)


def _execute(conn: Connection, plan: Plan, rows: Sequence[Sequence[Any]]) -> None:
    sql, sources, conversions, names = plan
    by_column = list(zip(*rows, strict=True))
    params_by_column: list[Sequence[Any]] = [by_column[i] for i in sources]
    for i, convert in conversions:
        params_by_column[i] = convert(params_by_column[i])
    params: list[Any] = list(zip(*params_by_column, strict=True))
    if names is not None:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(sql, params)


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (tuples of values for `columns`, in that order) in one executemany."""
    if rows:
        _execute(conn, _insert_plan(table, tuple(columns), conn.dialect), rows)


def update_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE in one executemany: each row holds the key (`columns[0]`, a unique column) and then
    the new values of `columns[1:]`."""
    if rows:
        _execute(conn, _update_plan(table, tuple(columns), conn.dialect), rows)


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts keyed by column name; every row has the same keys) in one executemany."""
    if not rows:
        return
    columns = list(rows[0])
    values = itemgetter(*columns)
    tuples = [values(row) for row in rows] if len(columns) > 1 else [(values(r),) for r in rows]
    insert_rows(conn, table, columns, tuples)


# in_set's expressions, made once per (column, dialect): building one costs ~0.15 ms of
# SQLAlchemy construction, and the ingest path asks for about ten per call. Keyed by the column's
# identity (a column's `==` builds an expression) and holding the column, so the id stays its own;
# bounded, since a caller may pass the column of an alias made per call.
_IN_SETS: dict[tuple[int, str], tuple[ColumnElement[Any], ColumnElement[bool]]] = {}


def in_set(column: ColumnElement[Any], dialect: Dialect) -> ColumnElement[bool]:
    """`column IN keys`, with all the keys in one parameter named "keys" (see `set_param`)."""
    key = (id(column), dialect.name)
    held = _IN_SETS.get(key)
    if held is not None and held[0] is column:
        return held[1]
    made = _in_set(column, dialect)
    if len(_IN_SETS) >= 1024:  # columns of per-call aliases would grow it without end
        _IN_SETS.clear()
    _IN_SETS[key] = (column, made)
    return made


def _in_set(column: ColumnElement[Any], dialect: Dialect) -> ColumnElement[bool]:
    if dialect.name == "sqlite":
        keys = func.json_each(bindparam("keys", type_=String)).table_valued("value")
        return column.in_(select(keys.c.value))
    from sqlalchemy.dialects.postgresql import ARRAY  # loaded with the PostgreSQL dialect anyway

    return column == any_(bindparam("keys", type_=ARRAY(String)))


def set_param(keys: Collection[str], dialect: Dialect) -> dict[str, Any]:
    values = list(keys)
    return {"keys": orjson.dumps(values).decode() if dialect.name == "sqlite" else values}


def fetch_map(
    conn: Connection, key: ColumnElement[Any], value: ColumnElement[Any], keys: Collection[str]
) -> dict[str, Any]:
    """{key: value} for the rows whose `key` (a unique column) is one of `keys`."""
    if not keys:
        return {}
    sqlite = conn.dialect.name == "sqlite"
    pairs = func.json_group_object(key, value) if sqlite else func.json_object_agg(key, value)
    query = select(pairs).where(in_set(key, conn.dialect))
    found = conn.execute(query, set_param(keys, conn.dialect)).scalar()
    if isinstance(found, str | bytes):
        found = orjson.loads(found)
    return found or {}


def fetch_present(conn: Connection, key: ColumnElement[Any], keys: Collection[str]) -> set[str]:
    """Which of `keys` are present in the column `key`."""
    if not keys:
        return set()
    sqlite = conn.dialect.name == "sqlite"
    values = func.json_group_array(key) if sqlite else func.json_agg(key)
    query = select(values).where(in_set(key, conn.dialect))
    found = conn.execute(query, set_param(keys, conn.dialect)).scalar()
    if isinstance(found, str | bytes):
        found = orjson.loads(found)
    return set(found or ())
