"""Segments for every face: define one (the rule language or its JSON form), preview its count
before saving, save it (its members are evaluated at once, in the same transaction), list, show,
page through or export its members, its counts over time, delete it."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from sqlalchemy import Connection

from touchpoint.domain import segments as rules
from touchpoint.domain.segments import RuleError, SegmentDefinition
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.projections.segments import evaluate_all
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.services import customers as customer_service
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.segments import SegmentRow

MAX_PAGE = 500
EXPORT_COLUMNS = ("customer_id", "entered_at", "name", "email", "phone")
PSEUDONYMOUS_COLUMNS = ("customer_id", "entered_at")


@dataclass(frozen=True)
class SegmentView:
    id: str
    name: str
    rule: str | None  # as written in the language (None: given as JSON)
    rule_json: dict[str, Any]
    members: int
    created_at: datetime
    created_by: str | None
    evaluated_at: datetime | None  # the membership's clock
    next_due: datetime | None  # when a rolling window next moves it


@dataclass(frozen=True)
class Preview:
    name: str
    rule_json: dict[str, Any]
    members: int  # who the rule holds for now
    at: datetime


@dataclass(frozen=True)
class Member:
    customer_id: str
    entered_at: datetime
    name: str | None = None  # contact details: only for callers who may see them
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class MemberPage:
    segment_id: str
    total: int
    items: list[Member]
    next_after: str | None  # pass as `after` for the next page (None: the last page)


@dataclass(frozen=True)
class CountPoint:
    day: date
    entered: int
    left: int
    members: int  # at the end of the day (UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- defining -----------------------------------------------------------------------------------


def known_score_models(tp: Touchpoint, conn: Connection) -> set[str]:
    """The score models in force (the scores projection's file), whose scores segments read."""
    try:
        scores = tp.projections.get("scores")
    except NotFound:
        return set()
    return {model.name for model in scores.models(conn)}  # type: ignore[attr-defined]


def define(
    tp: Touchpoint, conn: Connection, name: str, rule: str | Mapping[str, Any]
) -> SegmentDefinition:
    """The checked definition; ValidationError names the rule and, in the language, the line
    and column of the problem."""
    if not isinstance(rule, str | Mapping):
        raise ValidationError("rule: give the rule as text (the segment language) or its JSON form")
    try:
        definition = rules.define(name, rule)
    except RuleError as error:
        raise ValidationError(str(error)) from None
    known = known_score_models(tp, conn)
    for model in sorted(rules.score_models(definition.rule) - known):
        there = f"there are: {', '.join(sorted(known))}" if known else "no score model is kept yet"
        raise ValidationError(
            f"segment {definition.name!r}: no score model named {model!r} ({there})"
        )
    return definition


def preview(tp: Touchpoint, *, rule: str | Mapping[str, Any], name: str = "preview") -> Preview:
    """How many customers the rule holds for now; nothing is saved."""
    now = utcnow()
    with read_connection(tp.engine) as conn:
        definition = define(tp, conn, name, rule)
        count = store.count(conn, definition.rule, now)
    return Preview(definition.name, rules.rule_to_json(definition.rule), count, now)


def create_segment(
    tp: Touchpoint, *, name: str, rule: str | Mapping[str, Any], actor: str | None = None
) -> SegmentView:
    """Save a segment and evaluate its members (each one's entry is a `segment_entered`); the
    creation is in the audit trail (`segment.create`, with `actor`: `system` if none)."""
    with write_transaction(tp.engine) as conn:
        definition = define(tp, conn, name, rule)
        if store.find_segment(conn, definition.name) is not None:
            raise Conflict(f"a segment named {definition.name!r} exists already")
        segment_id = store.new_id()
        store.insert_segment(
            conn, segment_id=segment_id, definition=definition, now=utcnow(), created_by=actor
        )
        segment = _must_find(conn, segment_id)
        projection = tp.projections.get("segments")
        evaluate_all(conn, segment, projection.moment(segment), "created")  # type: ignore[attr-defined]
        view = _view(conn, _must_find(conn, segment_id))
        audit.record(
            conn,
            actor or "system",
            "segment.create",
            segment_id,
            name=view.name,
            rule=view.rule_json,
            members=view.members,
        )
        return view


def delete_segment(tp: Touchpoint, key: str, *, actor: str | None = None) -> SegmentView:
    """Forget a segment, its members and its history (the stream's consumers keep what they
    read); the deletion is in the audit trail (`segment.delete`, with `actor`), with the rule
    and member count it had."""
    with write_transaction(tp.engine) as conn:
        segment = _must_find(conn, key)
        view = _view(conn, segment)
        store.delete_segment(conn, segment.id)
        audit.record(
            conn,
            actor or "system",
            "segment.delete",
            segment.id,
            name=view.name,
            rule=view.rule_json,
            members=view.members,
        )
    return view


# --- reading ------------------------------------------------------------------------------------


def list_segments(tp: Touchpoint) -> list[SegmentView]:
    with read_connection(tp.engine) as conn:
        counts = store.member_counts(conn)
        return [_view(conn, s, counts.get(s.id, 0)) for s in store.all_segments(conn)]


def get_segment(tp: Touchpoint, key: str) -> SegmentView:
    with read_connection(tp.engine) as conn:
        return _view(conn, _must_find(conn, key))


def members(
    tp: Touchpoint, key: str, *, after: str | None = None, limit: int = 50, contact_details: bool
) -> MemberPage:
    """A page of members by customer id (keyset: pass the page's `next_after` as `after`)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: between 1 and {MAX_PAGE}")
    with read_connection(tp.engine) as conn:
        segment = _must_find(conn, key)
        rows = store.member_page(conn, segment.id, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_member(conn, cid, at, contact_details) for cid, at in rows]
        total = store.member_count(conn, segment.id)
    return MemberPage(segment.id, total, items, rows[-1][0] if more and rows else None)


def export_members(
    tp: Touchpoint,
    key: str,
    out: IO[str],
    *,
    contact_details: bool,
    actor: str | None = None,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """Write the members as CSV (contact details only for callers who may see them); returns
    how many rows. An export with contact details is in the audit trail."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS if contact_details else PSEUDONYMOUS_COLUMNS)
    written = 0
    with read_connection(tp.engine) as conn:
        segment = _must_find(conn, key)
        for cid, at in store.iter_members(conn, segment.id):
            member = _member(conn, cid, at, contact_details)
            row = [member.customer_id, member.entered_at.isoformat()]
            if contact_details:
                row += [member.name or "", member.email or "", member.phone or ""]
            writer.writerow(row)
            written += 1
            if on_row:
                on_row(written)
    if contact_details:
        audit.record_read(tp.engine, actor or "cli", "customer.export", segment.id, rows=written)
    return written


def counts(tp: Touchpoint, key: str, *, days: int | None = None) -> list[CountPoint]:
    """Members at the end of each UTC day with a change (the last `days` days only, if given)."""
    with read_connection(tp.engine) as conn:
        segment = _must_find(conn, key)
        daily = store.daily_changes(conn, segment.id)
    points, held = [], 0
    for day, entered, left in daily:
        held += entered - left
        points.append(CountPoint(date.fromisoformat(day), entered, left, held))
    if days is not None:
        if days < 1:
            raise ValidationError("days: at least 1")
        since = utcnow().date() - timedelta(days=days - 1)
        points = [p for p in points if p.day >= since]
    return points


def _must_find(conn: Connection, key: str) -> SegmentRow:
    segment = store.find_segment(conn, key)
    if segment is None:
        raise NotFound(f"no segment {key!r}")
    return segment


def _view(conn: Connection, segment: SegmentRow, held: int | None = None) -> SegmentView:
    return SegmentView(
        id=segment.id,
        name=segment.name,
        rule=segment.rule_text,
        rule_json=rules.rule_to_json(segment.rule),
        members=store.member_count(conn, segment.id) if held is None else held,
        created_at=segment.created_at,
        created_by=segment.created_by,
        evaluated_at=segment.evaluated_at,
        next_due=segment.next_due,
    )


def _member(conn: Connection, customer_id: str, at: datetime, contact_details: bool) -> Member:
    if not contact_details:
        return Member(customer_id, at)
    try:
        found = customer_service.summary(conn, customer_id)
    except NotFound:
        return Member(customer_id, at)
    return Member(customer_id, at, found.name, found.email, found.phone)
