"""The customers of a set of contact-center queues: those with a contact or callback
(`cc_contacts`), a ticket, or an interaction of the log in one of them — each counted for the
customer it answers with now (a merged-away customer's rows count for their survivor).
`services.customers.of_queues` says what this means; this module only asks."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, literal_column, select, union
from sqlalchemy.sql.selectable import CompoundSelect

from touchpoint.store.tables import cc_contacts, customer_stages, customers, interactions, tickets


def _holders(queues: Collection[str]) -> CompoundSelect:
    """Every customer id (as stored, maybe merged away since) with a row in the queues."""
    wanted = sorted(queues)
    parts = [
        select(table.c.customer_id.label("cid")).where(
            table.c.queue.in_(wanted), table.c.customer_id.is_not(None)
        )
        for table in (cc_contacts, tickets, interactions)
    ]
    return union(*parts)


def serves(conn: Connection, customer_id: str, queues: Collection[str]) -> bool:
    """Whether the customer (a current id) or one merged into them has a contact, callback,
    ticket or interaction in one of `queues`."""
    if not queues:
        return False
    merged = select(customers.c.id).where(customers.c.merged_into == customer_id)
    ids = [customer_id, *conn.scalars(merged)]
    wanted = sorted(queues)
    for table in (cc_contacts, tickets, interactions):
        query = (
            select(literal_column("1"))
            .select_from(table)
            .where(table.c.customer_id.in_(ids), table.c.queue.in_(wanted))
            .limit(1)
        )
        if conn.scalar(query) is not None:
            return True
    return False


def ids_of_queues(
    conn: Connection,
    queues: Collection[str],
    *,
    stage: str | None = None,
    limit: int,
    offset: int,
) -> tuple[int, list[str]]:
    """The current ids of the queues' customers (and, if given, now in `stage`), oldest
    customer first like the full list, and how many there are."""
    if not queues:
        return 0, []
    held = _holders(queues).subquery("held")
    current = func.coalesce(customers.c.merged_into, customers.c.id).label("current_id")
    survivors = (
        select(current).select_from(customers.join(held, held.c.cid == customers.c.id)).distinct()
    ).subquery("survivors")
    query = select(customers.c.id).join(survivors, survivors.c.current_id == customers.c.id)
    if stage is not None:
        query = query.join(customer_stages, customer_stages.c.customer_id == customers.c.id).where(
            customer_stages.c.stage == stage
        )
    total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = conn.scalars(
        query.order_by(customers.c.created_at, customers.c.id).limit(limit).offset(offset)
    )
    return int(total), list(page)
