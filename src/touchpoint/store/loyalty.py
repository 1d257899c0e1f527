"""Loyalty in the log (domain/loyalty.py): one customer's ledger, oldest first, and — for the
tier job — every customer whose tier by the last months' points and spend differs from the tier
last set, computed in one query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, literal, null, select, union

from touchpoint.domain.loyalty import NAMES, POINTS, TIER, Entry, Tier, whole_points
from touchpoint.store.tables import interactions

_log = interactions.c


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


def tier_changes(
    conn: Connection, tiers: Sequence[Tier], since: datetime
) -> list[tuple[str, str | None, str | None, str | None]]:
    """(customer, tier now, tier due, the last tier interaction's id) for every customer whose
    tier due — the highest whose points (awards since `since`) or spend (purchase revenue since
    `since`) threshold is met — differs from the one last set."""
    custom = (_log.type == "custom") & (_log.occurred_at >= since)
    earned = (
        select(_log.customer_id, func.sum(_log.properties["points"].as_integer()).label("points"))
        .where(custom, _log.name == POINTS)
        .group_by(_log.customer_id)
        .subquery()
    )
    spent = (
        select(_log.customer_id, func.sum(_log.revenue).label("spend"))
        .where(_log.type == "purchase", _log.occurred_at >= since)
        .group_by(_log.customer_id)
        .subquery()
    )
    last_seq = (
        select(_log.customer_id, func.max(_log.seq).label("seq"))
        .where(_log.type == "custom", _log.name == TIER)
        .group_by(_log.customer_id)
        .subquery()
    )
    last = (
        select(_log.customer_id, _log.id, _log.properties["tier"].as_string().label("tier"))
        .join(last_seq, _log.seq == last_seq.c.seq)
        .subquery()
    )
    people = union(
        select(earned.c.customer_id), select(spent.c.customer_id), select(last.c.customer_id)
    ).subquery()
    points = func.coalesce(earned.c.points, 0)
    spend = func.coalesce(spent.c.spend, 0.0)
    due = _tier_case(tiers, points, spend)
    query = (
        select(people.c.customer_id, last.c.tier, due.label("due"), last.c.id)
        .outerjoin(earned, earned.c.customer_id == people.c.customer_id)
        .outerjoin(spent, spent.c.customer_id == people.c.customer_id)
        .outerjoin(last, last.c.customer_id == people.c.customer_id)
        .where(func.nullif(last.c.tier, "").is_distinct_from(due))
        .order_by(people.c.customer_id)
    )
    return [(r.customer_id, r.tier or None, r.due, r.id) for r in conn.execute(query)]


def _tier_case(tiers: Sequence[Tier], points: Any, spend: Any) -> ColumnElement[Any]:
    """domain.loyalty.tier_for as SQL: the highest tier (last listed) whose threshold is met."""
    whens = []
    for tier in reversed(tiers):
        met = []
        if tier.points is not None:
            met.append(points >= tier.points)
        if tier.spend is not None:
            met.append(spend >= tier.spend)
        if met:
            condition = met[0] if len(met) == 1 else met[0] | met[1]
            whens.append((condition, literal(tier.name)))
    if not whens:
        return null()
    return case(*whens, else_=null())


def redemption(conn: Connection, interaction_id: str) -> dict[str, Any] | None:
    """The stored interaction with this id (a redemption's idempotency key), if any."""
    query = select(_log.customer_id, _log.name, _log.properties).where(_log.id == interaction_id)
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None
