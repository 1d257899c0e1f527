"""The business at a glance: live customers, merges, revenue and interactions per channel and type
(what `touchpoint demo` prints after ingesting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, func, select

from touchpoint.store.tables import customers, interactions, merges


@dataclass(frozen=True)
class BusinessOverview:
    customers: int  # live ones: not merged into another
    merged_profiles: int  # merges identity resolution made
    purchase_revenue: float
    by_channel: tuple[tuple[str, int], ...]  # interactions per channel, most first
    by_type: tuple[tuple[str, int], ...]  # interactions per type, most first


def business_overview(conn: Connection, *, top_types: int = 12) -> BusinessOverview:
    live = select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
    merged = select(func.count()).select_from(merges).where(merges.c.undone_at.is_(None))
    revenue = select(func.coalesce(func.sum(interactions.c.revenue), 0)).where(
        interactions.c.type == "purchase"
    )
    return BusinessOverview(
        customers=int(conn.scalar(live) or 0),
        merged_profiles=int(conn.scalar(merged) or 0),
        purchase_revenue=float(conn.scalar(revenue) or 0),
        by_channel=_counts(conn, interactions.c.channel),
        by_type=_counts(conn, interactions.c.type, limit=top_types),
    )


def _counts(
    conn: Connection, column: Column[str], limit: int | None = None
) -> tuple[tuple[str, int], ...]:
    query = (
        select(column, func.count().label("n"))
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(limit)
    )
    return tuple((str(value), int(n)) for value, n in conn.execute(query).all())


def last_occurred_at(conn: Connection) -> datetime | None:
    """When the latest interaction in the log happened."""
    return conn.scalar(select(func.max(interactions.c.occurred_at)))


def first_merge_survivor(conn: Connection) -> str | None:
    """The customer the first merge kept (it may have been merged further since)."""
    return conn.scalar(select(merges.c.survivor_id).order_by(merges.c.seq).limit(1))


def any_live_customer(conn: Connection) -> str | None:
    return conn.scalar(select(customers.c.id).where(customers.c.merged_into.is_(None)).limit(1))
