"""Reads for the next best action's hot path: who holds an identity (with their traits and
stage, in one read), and one customer's recent page views by the (customer_id, occurred_at)
index, newest first and bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, select

from touchpoint.store.tables import customer_stages, customers, identities, interactions

# Built once: a statement object reused keeps its cache key, so a request neither builds nor
# hashes a query (a third of a decision's CPU when each call built its own).
_PAGE_VIEWS = (
    select(interactions.c.occurred_at, interactions.c.properties)
    .where(
        interactions.c.customer_id == bindparam("customer_id"),
        interactions.c.occurred_at >= bindparam("since", type_=interactions.c.occurred_at.type),
        interactions.c.type == "page_view",
    )
    .order_by(interactions.c.occurred_at.desc())
    .limit(bindparam("limit", type_=Integer))
)
_VISITOR = (
    select(identities.c.customer_id, customers.c.traits, customer_stages.c.stage)
    .join(customers, customers.c.id == identities.c.customer_id)
    .outerjoin(customer_stages, customer_stages.c.customer_id == identities.c.customer_id)
    .where(identities.c.key == bindparam("key"))
)


def visitor(conn: Connection, key: str) -> tuple[str, dict[str, Any], str | None] | None:
    """(customer id, traits, current stage) of the customer holding identity `key`, in one
    indexed read; None for a key nobody holds."""
    row = conn.execute(_VISITOR, {"key": key}).first()
    if row is None:
        return None
    traits = row[1] if isinstance(row[1], dict) else {}
    return row[0], traits, row[2]


def recent_page_views(
    conn: Connection, customer_id: str, since: datetime, *, limit: int = 200
) -> list[tuple[datetime, dict[str, Any]]]:
    """(occurred_at, properties) of the customer's page views since `since`, newest first."""
    rows = conn.execute(_PAGE_VIEWS, {"customer_id": customer_id, "since": since, "limit": limit})
    return [(row[0], row[1] or {}) for row in rows]


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
