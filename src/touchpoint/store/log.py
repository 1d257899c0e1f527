"""The interaction log: append-only, ordered by `seq`; read by customer, newest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    Dialect,
    Float,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)

from touchpoint.store.bulk import _sqlite_datetime, fetch_present, in_set, insert_rows, set_param
from touchpoint.store.tables import interactions
from touchpoint.store.types import UTCDateTime


def existing_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    return fetch_present(conn, interactions.c.id, ids)


def stored_content(
    conn: Connection, ids: Collection[str], columns: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """{id: the values of `columns` as stored} for those of `ids` already in the log, for the
    ingest's duplicate check: datetimes as `stored_time` writes them and JSON columns as their
    text, so the content sent, put in the same form (`stored_time`, `stored_json`), compares
    with `==` when nothing changed. One statement, the rows aggregated into one JSON value (as
    `fetch_map`): rows read through the column types cost four times as much."""
    if not ids:
        return {}
    sqlite = conn.dialect.name == "sqlite"
    query = _content_query(tuple(columns), conn.dialect)
    found = conn.execute(query, set_param(ids, conn.dialect)).scalar()
    if isinstance(found, str | bytes):
        found = orjson.loads(found)
    rows: dict[str, list[Any]] = found or {}
    if sqlite:  # each float came as its exact text (see _as_stored)
        floats = [
            i for i, name in enumerate(columns) if isinstance(interactions.c[name].type, Float)
        ]
        for values in rows.values():
            for i in floats:
                if values[i] is not None:
                    values[i] = float(values[i])
    return {key: tuple(values) for key, values in rows.items()}


@lru_cache(maxsize=16)
def _content_query(columns: tuple[str, ...], dialect: Dialect) -> Select[Any]:
    """`stored_content`'s statement, built once (its 18 cells cost ~0.3 ms to construct)."""
    sqlite = dialect.name == "sqlite"
    cells = [_as_stored(interactions.c[name], sqlite) for name in columns]
    row = func.json_array(*cells) if sqlite else func.json_build_array(*cells)
    aggregate = func.json_group_object if sqlite else func.json_object_agg
    return select(aggregate(interactions.c.id, row)).where(in_set(interactions.c.id, dialect))


def stored_time(at: datetime) -> str:
    """A moment as `stored_content` gives it: its UTC wall time to the microsecond (the text
    SQLite holds, as bulk inserts write it)."""
    return _sqlite_datetime(at)


def stored_json(value: Any) -> str:
    """A JSON column's value as `stored_content` gives it: the text written (see bulk._json)."""
    return orjson.dumps(value).decode()


def _as_stored(column: Any, sqlite: bool) -> Any:
    if sqlite and isinstance(column.type, Float):
        # SQLite's JSON writes a float to 15 digits (0.30000000000000004 as 0.3), so it is sent as
        # text; `%!.20g` (the `!` lifts SQLite's 16-digit limit) reads back as the same float.
        return case((column.is_(None), None), else_=func.printf("%!.20g", column))
    if sqlite:  # SQLite holds datetimes as naive UTC text and JSON as text already
        return column
    if isinstance(column.type, UTCDateTime):
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    if isinstance(column.type, JSON):  # PostgreSQL's json type keeps the text it was given
        return cast(column, Text)
    return column


def append(conn: Connection, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Append rows (tuples of values for `columns`); the database assigns `seq`."""
    insert_rows(conn, interactions, columns, rows)


def timeline(
    conn: Connection,
    customer_id: str,
    *,
    limit: int,
    before: tuple[datetime, int] | None = None,
    channel: str | None = None,
    interaction_type: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first by occurred_at (then seq); `before` is the (occurred_at, seq) of the last row
    seen; `channel`, `interaction_type` and `since` (occurred at or after) keep only the rows they match."""
    query = select(interactions).where(interactions.c.customer_id == customer_id)
    for column, value in (
        (interactions.c.channel, channel),
        (interactions.c.type, interaction_type),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(interactions.c.occurred_at >= since)
    if before is not None:
        at, seq = before
        occurred = interactions.c.occurred_at
        query = query.where(or_(occurred < at, and_(occurred == at, interactions.c.seq < seq)))
    query = query.order_by(interactions.c.occurred_at.desc(), interactions.c.seq.desc()).limit(
        limit
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def customer_stats(conn: Connection, customer_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(
            func.count().label("interaction_count"),
            func.min(interactions.c.occurred_at).label("first_seen_at"),
            func.max(interactions.c.occurred_at).label("last_seen_at"),
            func.coalesce(func.sum(interactions.c.revenue), 0.0).label("revenue"),
        ).where(interactions.c.customer_id == customer_id)
    ).one()
    return dict(row._mapping)


def count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(interactions)) or 0)


def last_seq(conn: Connection) -> int:
    """The log's newest position (0 when empty): one look at the end of the primary key."""
    return int(conn.scalar(select(func.max(interactions.c.seq))) or 0)
