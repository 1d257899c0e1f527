"""Segments as stored: definitions, current members, and every entry and exit (the `segments`
domain-event stream); evaluation through store.segment_rules' one query per segment."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, select, update

from touchpoint.domain import segments as rules
from touchpoint.domain.segments import Behaviour, Rule
from touchpoint.store.bulk import in_set, insert_rows, set_param
from touchpoint.store.segment_rules import (
    SegmentSources,
    event_filter,
    in_window,
    member_query,
    members_query,
    system_sources,
)
from touchpoint.store.tables import (
    customers,
    segment_changes,
    segment_members,
    segments,
    stage_transitions,
)

ENTERED = "segment_entered"
LEFT = "segment_left"
CHANGE_COLUMNS = ("segment_id", "customer_id", "kind", "at", "ordinal", "cause", "key")


@dataclass(frozen=True, slots=True)
class SegmentRow:
    id: str
    name: str
    rule_text: str | None
    rule: Rule
    created_at: datetime
    created_by: str | None
    evaluated_at: datetime | None
    next_due: datetime | None
    stage_seq: int


def new_id() -> str:
    return f"seg_{secrets.token_hex(6)}"


def _row(row: Any) -> SegmentRow:
    return SegmentRow(
        row.id,
        row.name,
        row.rule_text,
        rules.rule_from_json(row.rule, name=row.name),
        row.created_at,
        row.created_by,
        row.evaluated_at,
        row.next_due,
        row.stage_seq,
    )


def insert_segment(
    conn: Connection,
    *,
    segment_id: str,
    definition: rules.SegmentDefinition,
    now: datetime,
    created_by: str | None,
) -> None:
    conn.execute(
        segments.insert().values(
            id=segment_id,
            name=definition.name,
            rule_text=definition.text,
            rule=rules.rule_to_json(definition.rule),
            created_at=now,
            created_by=created_by,
            stage_seq=last_stage_seq(conn),
        )
    )


def all_segments(conn: Connection) -> list[SegmentRow]:
    return [_row(r) for r in conn.execute(select(segments).order_by(segments.c.name))]


def find_segment(conn: Connection, key: str) -> SegmentRow | None:
    """A segment by id or name."""
    query = select(segments).where((segments.c.id == key) | (segments.c.name == key))
    row = conn.execute(query).first()
    return _row(row) if row else None


def delete_segment(conn: Connection, segment_id: str) -> None:
    for table in (segment_changes, segment_members):
        conn.execute(delete(table).where(table.c.segment_id == segment_id))
    conn.execute(delete(segments).where(segments.c.id == segment_id))


def set_clock(
    conn: Connection,
    segment_id: str,
    *,
    evaluated_at: datetime | None = None,
    next_due: datetime | None | bool = False,
    stage_seq: int | None = None,
) -> None:
    values: dict[str, Any] = {}
    if evaluated_at is not None:
        values["evaluated_at"] = evaluated_at
    if next_due is not False:
        values["next_due"] = next_due
    if stage_seq is not None:
        values["stage_seq"] = stage_seq
    if values:
        conn.execute(update(segments).where(segments.c.id == segment_id).values(**values))


# --- evaluation ---------------------------------------------------------------------------------


def sources_for(conn: Connection, now: datetime | None = None) -> SegmentSources:
    return system_sources(conn.dialect, now)


def evaluate(
    conn: Connection, rule: Rule, now: datetime, customer_ids: Collection[str] | None = None
) -> set[str]:
    """Who the rule holds for at `now`: everyone, or only among `customer_ids`."""
    sources = sources_for(conn, now)
    if customer_ids is None:
        return set(conn.execute(member_query(rule, sources, now)).scalars())
    if not customer_ids:
        return set()
    query = member_query(rule, sources, now, lambda column: in_set(column, conn.dialect))
    return set(conn.execute(query, set_param(set(customer_ids), conn.dialect)).scalars())


def evaluate_many(
    conn: Connection, rule_list: Sequence[Rule], now: datetime, customer_ids: Collection[str]
) -> list[set[str]]:
    """Who each rule holds for at `now` among `customer_ids`, in one query per `PER_QUERY` rules:
    the customers' interactions are read once (through their index) for every behaviour of every
    rule, and each customer's memberships come back as the bits of one integer."""
    if not customer_ids or not rule_list:
        return [set() for _ in rule_list]
    sources = sources_for(conn, now)
    params = set_param(set(customer_ids), conn.dialect)
    held: list[set[str]] = []
    for start in range(0, len(rule_list), PER_QUERY):
        part = rule_list[start : start + PER_QUERY]
        query = members_query(part, sources, now, lambda column: in_set(column, conn.dialect))
        flags = query.subquery("flags")
        bits = sum((flags.c[f"s{i}"] * (1 << i) for i in range(1, len(part))), flags.c.s0)
        found: list[set[str]] = [set() for _ in part]
        for cid, mask in conn.execute(select(flags.c.id, bits), params):
            while mask:
                low = mask & -mask
                found[low.bit_length() - 1].add(cid)
                mask ^= low
        held.extend(found)
    return held


PER_QUERY = 30  # rules per query: their 0/1 flags travel as the bits of one 32-bit integer


def count(conn: Connection, rule: Rule, now: datetime) -> int:
    """How many customers the rule holds for at `now` (a preview: nothing is saved)."""
    query = select(func.count()).select_from(
        member_query(rule, sources_for(conn, now), now).subquery()
    )
    return int(conn.execute(query).scalar() or 0)


def crossing_customers(
    conn: Connection, behaviour: Behaviour, spans: Iterable[tuple[datetime, datetime]]
) -> set[str]:
    """Customers with an interaction counted by `behaviour` that occurred in one of the spans
    (both ends included): the ones time may have moved in or out of the window."""
    events = sources_for(conn).events
    moment = events.c.occurred_at
    found: set[str] = set()
    for low, high in spans:
        if high < low:
            continue
        query = (
            select(events.c.customer_id)
            .distinct()
            .where(*event_filter(behaviour, events), moment >= low, moment <= high)
        )
        found.update(conn.execute(query).scalars())
    return found


def earliest_inside(conn: Connection, behaviour: Behaviour, now: datetime) -> datetime | None:
    """The earliest counted interaction still inside the window at `now` (any customer)."""
    events = sources_for(conn).events
    query = select(func.min(events.c.occurred_at)).where(
        *event_filter(behaviour, events), *in_window(behaviour, events, now)
    )
    value: datetime | None = conn.execute(query).scalar()
    return value


def last_stage_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.max(stage_transitions.c.seq))).scalar() or 0)


def staged_since(conn: Connection, seq: int) -> set[str]:
    """Customers whose stage moved after position `seq` of the stage transitions."""
    query = select(stage_transitions.c.customer_id).distinct().where(stage_transitions.c.seq > seq)
    return set(conn.execute(query).scalars())


def merged_away(conn: Connection, customer_ids: Collection[str]) -> set[str]:
    """Which of these customers were merged into another (or no longer exist)."""
    if not customer_ids:
        return set()
    query = select(customers.c.id).where(
        in_set(customers.c.id, conn.dialect), customers.c.merged_into.is_(None)
    )
    alive = set(conn.execute(query, set_param(set(customer_ids), conn.dialect)).scalars())
    return set(customer_ids) - alive


def members_merged_away(conn: Connection) -> set[str]:
    """Members of some segment who were merged into another customer since."""
    query = (
        select(segment_members.c.customer_id)
        .distinct()
        .join(customers, customers.c.id == segment_members.c.customer_id, isouter=True)
        .where(customers.c.merged_into.is_not(None) | customers.c.id.is_(None))
    )
    return set(conn.execute(query).scalars())


# --- membership -------------------------------------------------------------------------------


def members(
    conn: Connection, segment_id: str, customer_ids: Collection[str] | None = None
) -> set[str]:
    """The current members (all, or those among `customer_ids`)."""
    query = select(segment_members.c.customer_id).where(segment_members.c.segment_id == segment_id)
    if customer_ids is None:
        return set(conn.execute(query).scalars())
    if not customer_ids:
        return set()
    query = query.where(in_set(segment_members.c.customer_id, conn.dialect))
    return set(conn.execute(query, set_param(set(customer_ids), conn.dialect)).scalars())


def members_of(
    conn: Connection, segment_ids: Collection[str], customer_ids: Collection[str]
) -> dict[str, set[str]]:
    """{segment id: its members among `customer_ids`} for these segments, in one query."""
    if not customer_ids or not segment_ids:
        return {}
    query = select(segment_members.c.segment_id, segment_members.c.customer_id).where(
        segment_members.c.segment_id.in_(list(segment_ids)),
        in_set(segment_members.c.customer_id, conn.dialect),
    )
    found: dict[str, set[str]] = {}
    for sid, cid in conn.execute(query, set_param(set(customer_ids), conn.dialect)):
        found.setdefault(sid, set()).add(cid)
    return found


def _entries(conn: Connection, segment_id: str, customer_ids: Collection[str]) -> dict[str, int]:
    """How many times each of these customers entered the segment so far."""
    if not customer_ids:
        return {}
    query = (
        select(segment_changes.c.customer_id, func.count())
        .where(
            segment_changes.c.segment_id == segment_id,
            segment_changes.c.kind == ENTERED,
            in_set(segment_changes.c.customer_id, conn.dialect),
        )
        .group_by(segment_changes.c.customer_id)
    )
    params = set_param(set(customer_ids), conn.dialect)
    return {cid: int(n) for cid, n in conn.execute(query, params)}


def change_key(kind: str, segment_id: str, customer_id: str, ordinal: int) -> str:
    return f"{kind}:{segment_id}:{customer_id}:{ordinal}"


def record(
    conn: Connection,
    segment_id: str,
    *,
    entered: Collection[str],
    left: Collection[str],
    at: datetime,
    cause: str,
) -> None:
    """Move members in and out, writing one change for each (the k-th entry and its exit share
    k, so the keys are stable: the same change is never recorded twice)."""
    if not entered and not left:
        return
    counts = _entries(conn, segment_id, set(entered) | set(left))
    changes = []
    for cid in sorted(left):
        ordinal = max(counts.get(cid, 0), 1)
        changes.append(
            (segment_id, cid, LEFT, at, ordinal, cause, change_key(LEFT, segment_id, cid, ordinal))
        )
    for cid in sorted(entered):
        ordinal = counts.get(cid, 0) + 1
        changes.append(
            (
                segment_id,
                cid,
                ENTERED,
                at,
                ordinal,
                cause,
                change_key(ENTERED, segment_id, cid, ordinal),
            )
        )
    if left:
        conn.execute(
            delete(segment_members).where(
                segment_members.c.segment_id == segment_id,
                in_set(segment_members.c.customer_id, conn.dialect),
            ),
            set_param(set(left), conn.dialect),
        )
    insert_rows(
        conn,
        segment_members,
        ("segment_id", "customer_id", "entered_at"),
        [(segment_id, cid, at) for cid in sorted(entered)],
    )
    insert_rows(conn, segment_changes, CHANGE_COLUMNS, changes)


def member_page(
    conn: Connection, segment_id: str, *, after: str | None, limit: int
) -> list[tuple[str, datetime]]:
    """(customer_id, entered_at) by customer id, a keyset page at a time."""
    query = (
        select(segment_members.c.customer_id, segment_members.c.entered_at)
        .where(segment_members.c.segment_id == segment_id)
        .order_by(segment_members.c.customer_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(segment_members.c.customer_id > after)
    return [(cid, at) for cid, at in conn.execute(query)]


def iter_members(
    conn: Connection, segment_id: str, batch: int = 5_000
) -> Iterator[tuple[str, datetime]]:
    after: str | None = None
    while True:
        page = member_page(conn, segment_id, after=after, limit=batch)
        yield from page
        if len(page) < batch:
            return
        after = page[-1][0]


def member_count(conn: Connection, segment_id: str) -> int:
    query = select(func.count()).where(segment_members.c.segment_id == segment_id)
    return int(conn.execute(query).scalar() or 0)


def member_counts(conn: Connection) -> dict[str, int]:
    query = select(segment_members.c.segment_id, func.count()).group_by(
        segment_members.c.segment_id
    )
    return {sid: int(n) for sid, n in conn.execute(query)}


def daily_changes(conn: Connection, segment_id: str) -> list[tuple[str, int, int]]:
    """(UTC day as YYYY-MM-DD, entries, exits) per day with a change, oldest first."""
    at = segment_changes.c.at
    if conn.dialect.name == "sqlite":  # naive UTC text: the day is its first ten characters
        day = func.substr(at, 1, 10)
    else:
        day = func.to_char(func.timezone("UTC", at), "YYYY-MM-DD")
    entered = func.sum(case((segment_changes.c.kind == ENTERED, 1), else_=0))
    query = (
        select(day.label("day"), entered, func.count())
        .where(segment_changes.c.segment_id == segment_id)
        .group_by(day)
        .order_by(day)
    )
    return [(str(d), int(e or 0), int(n) - int(e or 0)) for d, e, n in conn.execute(query)]


def changes_after(conn: Connection, position: int, limit: int) -> list[dict[str, Any]]:
    """The changes recorded after stream position `position`, oldest first."""
    query = (
        select(segment_changes, segments.c.name)
        .join(segments, segments.c.id == segment_changes.c.segment_id)
        .where(segment_changes.c.seq > position)
        .order_by(segment_changes.c.seq)
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def changes_of(conn: Connection, segment_id: str, customer_id: str) -> list[dict[str, Any]]:
    query = (
        select(segment_changes)
        .where(
            segment_changes.c.segment_id == segment_id, segment_changes.c.customer_id == customer_id
        )
        .order_by(segment_changes.c.seq)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def memberships_of(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    """The segments a customer is in now (id, name, entered_at), by name."""
    query = (
        select(segments.c.id, segments.c.name, segment_members.c.entered_at)
        .join(segment_members, segment_members.c.segment_id == segments.c.id)
        .where(segment_members.c.customer_id == customer_id)
        .order_by(segments.c.name)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
