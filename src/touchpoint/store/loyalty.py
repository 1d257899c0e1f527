"""Loyalty in the log (domain/loyalty.py): one customer's ledger, oldest first; for the tier job
every customer's ledger (streamed) and the last months' spend, or only some customers'; for the
referral rewards the referrals of customers who have bought and whose referrer has not been
rewarded for them; and for the job's incremental runs, the customers something changed for since
its mark (new rows, rows whose moment came, awards expiring, purchases leaving the 12 months)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, or_, select

from touchpoint.domain.loyalty import NAMES, POINTS, REFERRAL, TIER, Entry, whole_points
from touchpoint.store.bulk import in_set, set_param
from touchpoint.store.tables import customers, identities, interactions, merges

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


Only = Collection[str] | None  # some customers (their ids), or None: every customer


def _type_is(value: str, only: Only) -> ColumnElement[bool]:
    """`type = value`; for some customers' rows in a form no index serves (`type || ''`), so that
    the customers' index finds them, not the (type, occurred_at) one reading every customer's."""
    return (_log.type if only is None else _log.type.concat("")) == value


def _of(query: Select[Any], conn: Connection, only: Only) -> tuple[Select[Any], dict[str, Any]]:
    """The query narrowed to the customers `only` names (one parameter, whatever their number)."""
    if only is None:
        return query, {}
    return query.where(in_set(_log.customer_id, conn.dialect)), set_param(only, conn.dialect)


def ledgers(
    conn: Connection, upto: datetime, only: Only = None
) -> Iterator[tuple[str, list[Entry]]]:
    """Every customer's ledger (or those of the customers `only` names) up to `upto`, oldest
    first, one customer at a time (in customer order), for the tier job to fold each as the
    customer's page does."""
    query, params = _of(
        select(_log.customer_id, _log.id, _log.occurred_at, _log.name, _log.properties)
        .where(_type_is("custom", only), _log.name.in_(NAMES), _log.occurred_at <= upto)
        .order_by(_log.customer_id, _log.occurred_at, _log.seq)
        .execution_options(yield_per=_STREAMED),
        conn,
        only,
    )
    rows = conn.execute(query, params)
    for customer_id, group in groupby(rows, key=lambda r: str(r.customer_id)):
        yield (
            customer_id,
            [_entry(r.id, r.occurred_at, str(r.name), dict(r.properties or {})) for r in group],
        )


def spend_between(
    conn: Connection, since: datetime, upto: datetime, only: Only = None
) -> dict[str, float]:
    """{customer: purchase revenue in [since, upto]} for every customer who spent in it (of
    those `only` names)."""
    query, params = _of(
        select(_log.customer_id, func.sum(_log.revenue))
        .where(_type_is("purchase", only), _log.occurred_at >= since, _log.occurred_at <= upto)
        .group_by(_log.customer_id),
        conn,
        only,
    )
    return {str(cid): float(total or 0.0) for cid, total in conn.execute(query, params)}


def referrals_unrewarded(
    conn: Connection, upto: datetime, reward_prefix: str, only: Only = None
) -> list[tuple[str, datetime, dict[str, Any], datetime]]:
    """(referred customer, referral's moment, its properties, first purchase's moment) for each
    referral of a customer (of those `only` names) who has purchased by `upto` and is not
    rewarded for, oldest referral of each customer first. A reward is the interaction `reward_prefix` + a referred customer's
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
    query, params = _of(
        select(_log.customer_id, _log.occurred_at, _log.properties, first.label("at"))
        .where(_type_is(REFERRAL, only), _log.occurred_at <= upto)
        .where(~_rewarded(reward_prefix))
        .order_by(_log.customer_id, _log.occurred_at, _log.seq),
        conn,
        only,
    )
    return [
        (str(r.customer_id), r.occurred_at, dict(r.properties or {}), r.at)
        for r in conn.execute(query, params)
        if r.at is not None
    ]


def _rewarded(reward_prefix: str) -> ColumnElement[bool]:
    """Whether the referred customer of the referral row is rewarded for: the reward is stored
    for them or for a customer merged into them."""
    reward = interactions.alias("reward")
    own = select(reward.c.seq).where(reward.c.id == literal(reward_prefix) + _log.customer_id)
    merged = customers.alias("merged")  # merges are flattened: one hop reaches each
    theirs = interactions.alias("theirs")
    of_merged = (
        select(theirs.c.seq)
        .join(merged, theirs.c.id == literal(reward_prefix) + merged.c.id)
        .where(merged.c.merged_into == _log.customer_id)
    )
    return or_(own.exists(), of_merged.exists())


def referral_states(
    conn: Connection, upto: datetime, reward_prefix: str
) -> list[tuple[str, dict[str, Any], bool, bool]]:
    """(referred customer, referral's properties, rewarded, has purchased by `upto`) for every
    referral up to `upto`, each customer's oldest first (for the loyalty page's counts)."""
    bought = interactions.alias("bought")
    purchased = (
        select(bought.c.seq)
        .where(
            bought.c.customer_id == _log.customer_id,
            bought.c.type == "purchase",
            bought.c.occurred_at <= upto,
        )
        .exists()
    )
    query = (
        select(
            _log.customer_id,
            _log.properties,
            _rewarded(reward_prefix).label("rewarded"),
            purchased.label("purchased"),
        )
        .where(_log.type == REFERRAL, _log.occurred_at <= upto)
        .order_by(_log.customer_id, _log.occurred_at, _log.seq)
    )
    return [
        (str(r.customer_id), dict(r.properties or {}), bool(r.rewarded), bool(r.purchased))
        for r in conn.execute(query)
    ]


def redemption(conn: Connection, interaction_id: str) -> dict[str, Any] | None:
    """The stored interaction with this id (a redemption's idempotency key), if any."""
    query = select(_log.customer_id, _log.name, _log.properties).where(_log.id == interaction_id)
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# --- what changed since the loyalty job's mark ------------------------------------------------

_PURCHASE = "purchase"


def _what_counts() -> ColumnElement[bool]:
    """A loyalty entry, a purchase or a referral: the rows the job's results are made of (the
    type first, so that a range of moments is read by the (type, occurred_at) index)."""
    return and_(
        _log.type.in_((_PURCHASE, REFERRAL, "custom")),
        or_(_log.type != "custom", _log.name.in_(NAMES)),
    )


def appended_between(conn: Connection, after: int, upto: int) -> tuple[set[str], set[str]]:
    """For the log positions (after, upto]: the customers with a loyalty entry, a purchase or a
    referral there, and every customer with any interaction there (one of whom may have
    gained an identity a referral names)."""
    query = (
        select(_log.customer_id, _what_counts().label("counts"))
        .where(_log.seq > after, _log.seq <= upto)
        .distinct()
    )
    counting: set[str] = set()
    every: set[str] = set()
    for cid, counts in conn.execute(query):
        every.add(str(cid))
        if counts:
            counting.add(str(cid))
    return counting, every


def occurring_between(conn: Connection, after: datetime, upto: datetime) -> set[str]:
    """The customers with a loyalty entry, a purchase or a referral that occurred in (after,
    upto], whenever it was stored: a run at `after` left it out as not yet happened."""
    query = (
        select(_log.customer_id)
        .where(_log.occurred_at > after, _log.occurred_at <= upto, _what_counts())
        .distinct()
    )
    return set(map(str, conn.scalars(query)))


def purchases_between(conn: Connection, since: datetime, upto: datetime) -> set[str]:
    """The customers with a purchase that occurred in [since, upto]."""
    query = (
        select(_log.customer_id)
        .where(_log.type == _PURCHASE, _log.occurred_at >= since, _log.occurred_at <= upto)
        .distinct()
    )
    return set(map(str, conn.scalars(query)))


def awards_between(conn: Connection, since: datetime, upto: datetime) -> list[tuple[str, datetime]]:
    """(customer, moment) of each award of points earned in [since, upto]."""
    query = select(_log.customer_id, _log.occurred_at).where(
        _log.type == "custom",
        _log.name == POINTS,
        _log.occurred_at >= since,
        _log.occurred_at <= upto,
    )
    return [(str(cid), at) for cid, at in conn.execute(query)]


def merged_after(conn: Connection, after: int) -> tuple[int, set[str]]:
    """The newest merge's seq, and both customers of every merge after `after`."""
    top = int(conn.scalar(select(func.max(merges.c.seq))) or 0)
    query = select(merges.c.survivor_id, merges.c.merged_id).where(
        merges.c.seq > after, merges.c.seq <= top
    )
    return top, {str(cid) for pair in conn.execute(query) for cid in pair}


def keys_of(conn: Connection, customer_ids: Collection[str]) -> set[str]:
    """Every identity key these customers hold now."""
    if not customer_ids:
        return set()
    query = select(identities.c.key).where(in_set(identities.c.customer_id, conn.dialect))
    return set(conn.scalars(query, set_param(customer_ids, conn.dialect)))


def referrals(conn: Connection, upto: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """(referred customer, properties) of every referral up to `upto`, streamed."""
    query = (
        select(_log.customer_id, _log.properties)
        .where(_log.type == REFERRAL, _log.occurred_at <= upto)
        .execution_options(yield_per=_STREAMED)
    )
    for cid, properties in conn.execute(query):
        yield str(cid), dict(properties or {})
