"""The loyalty interactions of one customer (domain/loyalty.py), oldest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from touchpoint.domain.loyalty import NAMES
from touchpoint.store.tables import interactions


def loyalty_rows(conn: Connection, customer_id: str) -> list[tuple[str, dict[str, Any]]]:
    query = (
        select(interactions.c.name, interactions.c.properties)
        .where(
            interactions.c.customer_id == customer_id,
            interactions.c.type == "custom",
            interactions.c.name.in_(NAMES),
        )
        .order_by(interactions.c.occurred_at, interactions.c.seq)
    )
    return [(str(r.name), dict(r.properties or {})) for r in conn.execute(query)]
