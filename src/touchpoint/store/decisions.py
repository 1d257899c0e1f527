"""Reads for the next best action's hot path: one customer's recent page views, by the
(customer_id, occurred_at) index, newest first and bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from touchpoint.store.tables import interactions


def recent_page_views(
    conn: Connection, customer_id: str, since: datetime, *, limit: int = 200
) -> list[tuple[datetime, dict[str, Any]]]:
    """(occurred_at, properties) of the customer's page views since `since`, newest first."""
    t = interactions.c
    query = (
        select(t.occurred_at, t.properties)
        .where(t.customer_id == customer_id, t.occurred_at >= since, t.type == "page_view")
        .order_by(t.occurred_at.desc())
        .limit(limit)
    )
    return [(row[0], row[1] or {}) for row in conn.execute(query)]


def decisions_shown(
    conn: Connection, since: datetime, until: datetime
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(customer_id, occurred_at, properties) of the decisions shown in [since, until)."""
    t = interactions.c
    query = select(t.customer_id, t.occurred_at, t.properties).where(
        t.type == "custom",
        t.name == "decision_shown",
        t.occurred_at >= since,
        t.occurred_at < until,
    )
    return [(row[0], row[1], row[2] or {}) for row in conn.execute(query)]


def first_of_type(
    conn: Connection, kind: str, since: datetime, until: datetime
) -> dict[str, datetime]:
    """customer_id → their first interaction of type `kind` in [since, until)."""
    t = interactions.c
    query = (
        select(t.customer_id, func.min(t.occurred_at))
        .where(t.type == kind, t.occurred_at >= since, t.occurred_at < until)
        .group_by(t.customer_id)
    )
    return {row[0]: row[1] for row in conn.execute(query)}


def times_of_type(
    conn: Connection, kind: str, since: datetime, until: datetime
) -> dict[str, list[datetime]]:
    """customer_id → the moments of their interactions of type `kind` in [since, until)."""
    t = interactions.c
    query = select(t.customer_id, t.occurred_at).where(
        t.type == kind, t.occurred_at >= since, t.occurred_at < until
    )
    found: dict[str, list[datetime]] = {}
    for customer_id, at in conn.execute(query):
        found.setdefault(customer_id, []).append(at)
    return found
