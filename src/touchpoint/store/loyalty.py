"""Loyalty in the log (domain/loyalty.py): one customer's ledger, oldest first; for the tier job
every customer's ledger (streamed) and the last months' spend; for the referral rewards the
referrals of customers who have bought and whose referrer has not been rewarded for them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, func, literal, select

from touchpoint.domain.loyalty import NAMES, REFERRAL, TIER, Entry, whole_points
from touchpoint.store.tables import customers, interactions

_log = interactions.c
_STREAMED = 5_000  # rows of the ledgers read at a time


def loyalty_entries(conn: Connection, customer_id: str) -> list[Entry]:
    query = (
        select(_log.id, _log.occurred_at, _log.name, _log.properties)
        .where(_log.customer_id == customer_id, _log.type == "custom", _log.name.in_(NAMES))
        .order_by(_log.occurred_at, _log.seq)
    )
    return [
        _entry(r.id, r.occurred_at, str(r.name), dict(r.properties or {}))
        for r in conn.execute(query)
    ]


def _entry(id_: str, at: datetime, name: str, properties: dict[str, Any]) -> Entry:
    reason = properties.get("reason")
    tier = properties.get("tier")
    return Entry(
        str(id_),
        at,
        name,
        0 if name == TIER else whole_points(properties.get("points")),
        str(reason) if reason is not None else None,
        tier if isinstance(tier, str) and tier else None,
    )


def ledgers(conn: Connection, upto: datetime) -> Iterator[tuple[str, list[Entry]]]:
    """Every customer's ledger up to `upto`, oldest first, one customer at a time (in customer
    order), for the tier job to fold each as the customer's page does."""
    query = (
        select(_log.customer_id, _log.id, _log.occurred_at, _log.name, _log.properties)
        .where(_log.type == "custom", _log.name.in_(NAMES), _log.occurred_at <= upto)
        .order_by(_log.customer_id, _log.occurred_at, _log.seq)
        .execution_options(yield_per=_STREAMED)
    )
    rows = conn.execute(query)
    for customer_id, group in groupby(rows, key=lambda r: str(r.customer_id)):
        yield (
            customer_id,
            [_entry(r.id, r.occurred_at, str(r.name), dict(r.properties or {})) for r in group],
        )


def spend_between(conn: Connection, since: datetime, upto: datetime) -> dict[str, float]:
    """{customer: purchase revenue in [since, upto]} for every customer who spent in it."""
    query = (
        select(_log.customer_id, func.sum(_log.revenue))
        .where(_log.type == "purchase", _log.occurred_at >= since, _log.occurred_at <= upto)
        .group_by(_log.customer_id)
    )
    return {str(cid): float(total or 0.0) for cid, total in conn.execute(query)}


def referrals_unrewarded(
    conn: Connection, upto: datetime, reward_prefix: str
) -> list[tuple[str, datetime, dict[str, Any], datetime]]:
    """(referred customer, referral's moment, its properties, first purchase's moment) for each
    referral of a customer who has purchased by `upto` and is not rewarded for, oldest referral
    of each customer first. A reward is the interaction `reward_prefix` + a referred customer's
    id; the customer counts as rewarded when it is stored for them or for a customer merged
    into them (one person, one reward, whichever profile bought first)."""
    bought = interactions.alias("bought")
    first = (
        select(func.min(bought.c.occurred_at))
        .where(
            bought.c.customer_id == _log.customer_id,
            bought.c.type == "purchase",
            bought.c.occurred_at <= upto,
        )
        .scalar_subquery()
    )
    reward = interactions.alias("reward")
    own = select(reward.c.seq).where(reward.c.id == literal(reward_prefix) + _log.customer_id)
    merged = customers.alias("merged")  # merges are flattened: one hop reaches each
    theirs = interactions.alias("theirs")
    of_merged = (
        select(theirs.c.seq)
        .join(merged, theirs.c.id == literal(reward_prefix) + merged.c.id)
        .where(merged.c.merged_into == _log.customer_id)
    )
    query = (
        select(_log.customer_id, _log.occurred_at, _log.properties, first.label("at"))
        .where(_log.type == REFERRAL, _log.occurred_at <= upto)
        .where(~own.exists(), ~of_merged.exists())
        .order_by(_log.customer_id, _log.occurred_at, _log.seq)
    )
    return [
        (str(r.customer_id), r.occurred_at, dict(r.properties or {}), r.at)
        for r in conn.execute(query)
        if r.at is not None
    ]


def redemption(conn: Connection, interaction_id: str) -> dict[str, Any] | None:
    """The stored interaction with this id (a redemption's idempotency key), if any."""
    query = select(_log.customer_id, _log.name, _log.properties).where(_log.id == interaction_id)
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None
