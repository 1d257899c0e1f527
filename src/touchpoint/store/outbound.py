"""Outbound campaigns as stored: campaigns, their records (the dialer list), every dial attempt
or dial-time refusal, the do-not-call list, and the queries that build a list (customers in a
stage, abandoned carts without a later purchase, customers by id)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import aliased

from touchpoint.store.bulk import fetch_present, in_set, set_param
from touchpoint.store.tables import (
    customer_stages,
    customers,
    identities,
    interactions,
    outbound_attempts,
    outbound_campaigns,
    outbound_do_not_call,
    outbound_records,
)

PHONE_PREFIX = "phone:"  # identity keys of phones: "phone:+14155550100"

# --- campaigns ----------------------------------------------------------------------------------


def add_campaign(conn: Connection, **values: Any) -> None:
    conn.execute(insert(outbound_campaigns).values(values))


def campaign(conn: Connection, campaign_id: str) -> RowMapping | None:
    query = select(outbound_campaigns).where(outbound_campaigns.c.id == campaign_id)
    return conn.execute(query).mappings().first()


def campaign_named(conn: Connection, name: str) -> RowMapping | None:
    query = select(outbound_campaigns).where(outbound_campaigns.c.name == name)
    return conn.execute(query).mappings().first()


def campaigns(conn: Connection) -> list[RowMapping]:
    query = select(outbound_campaigns).order_by(outbound_campaigns.c.created_at)
    return list(conn.execute(query).mappings())


def set_campaign(conn: Connection, campaign_id: str, **values: Any) -> None:
    conn.execute(
        update(outbound_campaigns).where(outbound_campaigns.c.id == campaign_id).values(values)
    )


def record_counts(conn: Connection, campaign_id: str) -> dict[str, int]:
    """{closed reason or "open": records}."""
    reason = func.coalesce(outbound_records.c.closed_reason, "open")
    query = (
        select(reason, func.count())
        .where(outbound_records.c.campaign_id == campaign_id)
        .group_by(reason)
    )
    return {str(k): int(n) for k, n in conn.execute(query)}


def attempt_counts(conn: Connection, campaign_id: str) -> dict[str, int]:
    """{status (refused: by reason, "refused:<reason>"): attempts}."""
    query = (
        select(outbound_attempts.c.status, outbound_attempts.c.reason, func.count())
        .where(outbound_attempts.c.campaign_id == campaign_id)
        .group_by(outbound_attempts.c.status, outbound_attempts.c.reason)
    )
    return {
        (f"{status}:{reason}" if reason else str(status)): int(n)
        for status, reason, n in conn.execute(query)
    }


# --- records ------------------------------------------------------------------------------------


def add_records(conn: Connection, campaign_id: str, rows: Iterable[dict[str, Any]]) -> int:
    """Add records (phone, customer_id, name, source_ref, next_attempt_at, added_at); a phone
    already on the campaign's list is skipped. Returns how many were added."""
    present = set(
        conn.scalars(
            select(outbound_records.c.phone).where(outbound_records.c.campaign_id == campaign_id)
        )
    )
    new: list[dict[str, Any]] = []
    for row in rows:
        if row["phone"] not in present:
            present.add(row["phone"])
            new.append({"campaign_id": campaign_id, **row})
    if new:
        conn.execute(insert(outbound_records), new)
    return len(new)


def due_records(conn: Connection, campaign_id: str, now: datetime, limit: int) -> list[RowMapping]:
    """Open records whose next attempt is due, soonest first (then in list order)."""
    query = (
        select(outbound_records)
        .where(
            outbound_records.c.campaign_id == campaign_id,
            outbound_records.c.next_attempt_at <= now,
            outbound_records.c.closed_reason.is_(None),
        )
        .order_by(outbound_records.c.next_attempt_at, outbound_records.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def record(conn: Connection, record_id: int) -> RowMapping | None:
    query = select(outbound_records).where(outbound_records.c.id == record_id)
    return conn.execute(query).mappings().first()


def set_record(conn: Connection, record_id: int, **values: Any) -> None:
    conn.execute(update(outbound_records).where(outbound_records.c.id == record_id).values(values))


def records(conn: Connection, campaign_id: str, limit: int) -> list[RowMapping]:
    query = (
        select(outbound_records)
        .where(outbound_records.c.campaign_id == campaign_id)
        .order_by(outbound_records.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# --- attempts -----------------------------------------------------------------------------------


def add_attempt(conn: Connection, **values: Any) -> None:
    conn.execute(insert(outbound_attempts).values(values))


def attempt(conn: Connection, attempt_id: str) -> RowMapping | None:
    query = select(outbound_attempts).where(outbound_attempts.c.id == attempt_id)
    return conn.execute(query).mappings().first()


def set_attempt(conn: Connection, attempt_id: str, **values: Any) -> None:
    conn.execute(
        update(outbound_attempts).where(outbound_attempts.c.id == attempt_id).values(values)
    )


def attempts_of(conn: Connection, record_id: int) -> list[RowMapping]:
    query = (
        select(outbound_attempts)
        .where(outbound_attempts.c.record_id == record_id)
        .order_by(outbound_attempts.c.at, outbound_attempts.c.id)
    )
    return list(conn.execute(query).mappings())


def dialling(conn: Connection, campaign_id: str | None = None) -> list[RowMapping]:
    """Attempts handed out and not ended yet (of one campaign, or all)."""
    query = select(outbound_attempts).where(outbound_attempts.c.status == "dialling")
    if campaign_id is not None:
        query = query.where(outbound_attempts.c.campaign_id == campaign_id)
    return list(conn.execute(query).mappings())


def ended_dispositions(conn: Connection, campaign_id: str, since: datetime) -> list[str]:
    """The dispositions of the campaign's calls that ended at or after `since`."""
    query = select(outbound_attempts.c.disposition).where(
        outbound_attempts.c.campaign_id == campaign_id,
        outbound_attempts.c.status == "ended",
        outbound_attempts.c.ended_at >= since,
    )
    return [str(d) for d in conn.scalars(query)]


def unlogged(conn: Connection) -> list[RowMapping]:
    """Ended calls not yet in the interaction log, with their record's phone and customer and
    their campaign's name and queue."""
    query = (
        select(
            outbound_attempts,
            outbound_records.c.phone,
            outbound_records.c.customer_id,
            outbound_campaigns.c.name.label("campaign_name"),
            outbound_campaigns.c.queue,
        )
        .join(outbound_records, outbound_records.c.id == outbound_attempts.c.record_id)
        .join(outbound_campaigns, outbound_campaigns.c.id == outbound_attempts.c.campaign_id)
        .where(outbound_attempts.c.status == "ended", outbound_attempts.c.logged_at.is_(None))
        .order_by(outbound_attempts.c.ended_at, outbound_attempts.c.id)
    )
    return list(conn.execute(query).mappings())


def mark_logged(conn: Connection, attempt_ids: Collection[str], at: datetime) -> None:
    if attempt_ids:
        conn.execute(
            update(outbound_attempts)
            .where(outbound_attempts.c.id.in_(list(attempt_ids)))
            .values(logged_at=at)
        )


# --- do-not-call --------------------------------------------------------------------------------


def on_do_not_call(conn: Connection, phone: str) -> bool:
    query = select(outbound_do_not_call.c.phone).where(outbound_do_not_call.c.phone == phone)
    return conn.scalar(query) is not None


def add_do_not_call(conn: Connection, phone: str, at: datetime, source: str) -> bool:
    if on_do_not_call(conn, phone):
        return False
    conn.execute(insert(outbound_do_not_call).values(phone=phone, added_at=at, source=source))
    return True


def suppressed(conn: Connection, key_hash: str) -> bool:
    from touchpoint.store.privacy import suppressed_among

    return bool(suppressed_among(conn, [key_hash]))


# --- who a record is ----------------------------------------------------------------------------


def customer_by_phone(conn: Connection, phone: str) -> str | None:
    """The customer the phone identity belongs to now (following merges), if any."""
    found = conn.scalar(
        select(identities.c.customer_id).where(identities.c.key == PHONE_PREFIX + phone)
    )
    return current(conn, found) if found else None


def current(conn: Connection, customer_id: str) -> str | None:
    """The customer a (possibly merged-away) id is now; None when there is no such customer."""
    for _ in range(20):
        row = conn.execute(
            select(customers.c.id, customers.c.merged_into).where(customers.c.id == customer_id)
        ).first()
        if row is None:
            return None
        if row[1] is None:
            return str(row[0])
        customer_id = row[1]
    return None


def contacts_of(conn: Connection, customer_ids: Collection[str]) -> dict[str, tuple[str, Any]]:
    """{customer id: (their first phone in E.164, their traits)} for those with a phone."""
    if not customer_ids:
        return {}
    query = (
        select(identities.c.customer_id, func.min(identities.c.key))
        .where(identities.c.kind == "phone", in_set(identities.c.customer_id, conn.dialect))
        .group_by(identities.c.customer_id)
    )
    phones = {
        cid: key.removeprefix(PHONE_PREFIX)
        for cid, key in conn.execute(query, set_param(customer_ids, conn.dialect))
    }
    traits_query = select(customers.c.id, customers.c.traits).where(
        in_set(customers.c.id, conn.dialect)
    )
    traits = dict(conn.execute(traits_query, set_param(set(phones), conn.dialect)).all())
    return {cid: (phone, traits.get(cid) or {}) for cid, phone in phones.items()}


def customers_in_stage(conn: Connection, stage: str) -> list[str]:
    query = (
        select(customer_stages.c.customer_id)
        .join(customers, customers.c.id == customer_stages.c.customer_id)
        .where(customer_stages.c.stage == stage, customers.c.merged_into.is_(None))
        .order_by(customer_stages.c.customer_id)
    )
    return [str(c) for c in conn.scalars(query)]


def existing_customers(conn: Connection, customer_ids: Collection[str]) -> set[str]:
    return fetch_present(conn, customers.c.id, customer_ids)


def abandoned_carts(
    conn: Connection, since: datetime, until: datetime, cart_type: str, purchase_type: str
) -> list[tuple[str, str]]:
    """(customer id, the cart interaction's id) of each customer's latest cart abandoned in
    [since, until) with no purchase of theirs after it."""
    later = aliased(interactions)
    bought = exists().where(
        later.c.customer_id == interactions.c.customer_id,
        later.c.type == purchase_type,
        later.c.occurred_at > interactions.c.occurred_at,
    )
    query = (
        select(interactions.c.customer_id, interactions.c.id, interactions.c.occurred_at)
        .where(
            and_(
                interactions.c.type == cart_type,
                interactions.c.occurred_at >= since,
                interactions.c.occurred_at < until,
            ),
            ~bought,
        )
        .order_by(interactions.c.occurred_at, interactions.c.seq)
    )
    latest: dict[str, str] = {}
    for customer_id, interaction_id, _at in conn.execute(query):
        latest[customer_id] = interaction_id  # later rows overwrite: the latest cart is kept
    return list(latest.items())


# --- one person (privacy: export and erasure) ---------------------------------------------------


def _person_records(customer_ids: Collection[str], phones: Collection[str]) -> Any:
    return or_(
        outbound_records.c.customer_id.in_(list(customer_ids) or [""]),
        outbound_records.c.phone.in_(list(phones) or [""]),
    )


def person_records(
    conn: Connection, customer_ids: Collection[str], phones: Collection[str]
) -> list[dict[str, Any]]:
    """The person's places on dialer lists (by customer or by phone), each with its attempts."""
    found = [
        dict(r)
        for r in conn.execute(
            select(outbound_records)
            .where(_person_records(customer_ids, phones))
            .order_by(outbound_records.c.id)
        ).mappings()
    ]
    for row in found:
        row["attempts_made"] = [dict(a) for a in attempts_of(conn, row["id"])]
    return found


def forget_person(conn: Connection, customer_ids: Collection[str], phones: Collection[str]) -> int:
    """Delete the person's records, their attempts and their numbers' do-not-call entries (the
    suppression list keeps an erased number from being called again). Returns records deleted."""
    ids = list(
        conn.scalars(select(outbound_records.c.id).where(_person_records(customer_ids, phones)))
    )
    if ids:
        conn.execute(delete(outbound_attempts).where(outbound_attempts.c.record_id.in_(ids)))
        conn.execute(delete(outbound_records).where(outbound_records.c.id.in_(ids)))
    if phones:
        conn.execute(
            delete(outbound_do_not_call).where(outbound_do_not_call.c.phone.in_(list(phones)))
        )
    return len(ids)
