"""The interaction log: append-only, ordered by `seq`; read by customer, newest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from touchpoint.store.bulk import fetch_present, in_set, insert_rows, set_param
from touchpoint.store.tables import interactions


def existing_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    return fetch_present(conn, interactions.c.id, ids)


def stored_content(
    conn: Connection, ids: Collection[str], columns: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """{id: the values of `columns`} for those of `ids` already in the log (one statement; the
    ingest's duplicate check, which compares what was sent with what is stored)."""
    if not ids:
        return {}
    query = select(interactions.c.id, *(interactions.c[name] for name in columns)).where(
        in_set(interactions.c.id, conn.dialect)
    )
    rows = conn.execute(query, set_param(ids, conn.dialect))
    return {row[0]: tuple(row[1:]) for row in rows}


def append(conn: Connection, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Append rows (tuples of values for `columns`); the database assigns `seq`."""
    insert_rows(conn, interactions, columns, rows)


def timeline(
    conn: Connection, customer_id: str, *, limit: int, before: tuple[datetime, int] | None = None
) -> list[dict[str, Any]]:
    """Newest first by occurred_at (then seq); `before` is the (occurred_at, seq) of the last row seen."""
    query = select(interactions).where(interactions.c.customer_id == customer_id)
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
