"""Reads for the next best action's hot path: one customer's recent page views, by the
(customer_id, occurred_at) index, newest first and bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

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
