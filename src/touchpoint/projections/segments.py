"""Segment membership as a projection: who is in each saved segment, kept current as events
arrive and as time passes, with every entry and exit recorded once (`segment_changes`, the
`segments` domain-event stream).

Every operation re-evaluates a set of customers with the segment's one query (store.segments
.evaluate; never a loop over customers) and records the difference with the members stored:
- `apply`: the customers of the batch (and the survivors of its merges; the merged-away leave);
- `rescore`: after a scoring run, everyone in the segments reading predictions;
- `tick(now)`: only the customers time can have moved — those with a counted interaction that
  crossed a window's edge between the segment's clock and `now`, and those whose stage moved
  since — and only once the segment's `next_due` (the earliest such crossing) has come;
- `catch_up`, `refold`: the customers with new or moved events; `replay`: everyone.
Why crossings and not a schedule: docs/decisions.md, "Segments: windows roll by their edges".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.domain import segments as rules
from touchpoint.domain.segments import Rule, Stage
from touchpoint.projections.contract import CatchUpResult, LogBatch, Progress, TickResult
from touchpoint.store import projections as positions
from touchpoint.store import segments as store
from touchpoint.store.segments import SegmentRow

# A catch-up touching more customers than this evaluates everyone (one query without a key
# list is cheaper than one with a list that long).
WHOLE_SHARE_CUSTOMERS = 50_000

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SegmentsRebuilt:
    events: int  # log events read (none: evaluation reads the tables, not a fold)
    customers: int  # memberships held after the rebuild


class SegmentsProjection:
    """`segment_members` and `segment_changes` of every saved segment."""

    name = "segments"
    version = 1

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock  # the wall clock: a test passes its own

    def is_built(self, conn: Connection) -> bool:
        return True  # built means checkpointed: the registry replays it when it has no checkpoint

    def moment(self, segment: SegmentRow) -> datetime:
        """When an evaluation now looks from: the wall clock, never behind the segment's clock."""
        now = self.clock()
        if segment.evaluated_at is not None and segment.evaluated_at > now:
            return segment.evaluated_at
        return now

    # --- events -----------------------------------------------------------------------------
    def apply(self, conn: Connection, batch: LogBatch) -> None:
        if not batch.rows and not batch.survivor_of:
            return
        touched = {row["customer_id"] for row in batch.rows}
        touched |= set(batch.survivor_of) | set(batch.survivor_of.values())
        listed = store.all_segments(conn)
        for segment, now in update_all(conn, listed, touched, self.moment, "ingest"):
            due = _due_from_rows(segment.rule, batch.rows, now)
            if due is not None and (segment.next_due is None or due < segment.next_due):
                store.set_clock(conn, segment.id, next_due=due)

    def catch_up(
        self, conn: Connection, engine: Engine, *, after: int, upto: int, progress: Progress
    ) -> CatchUpResult:
        touched = positions.customers_after(conn, after, upto) | store.members_merged_away(conn)
        whole = len(touched) > WHOLE_SHARE_CUSTOMERS
        listed = store.all_segments(conn)
        if whole:
            for segment in listed:
                evaluate_all(conn, segment, self.moment(segment), "replay")
        else:
            for segment, now in update_all(conn, listed, touched, self.moment, "ingest"):
                store.set_clock(conn, segment.id, next_due=next_due(conn, segment.rule, now))
        events = positions.events_between(conn, after, upto)
        progress.advance(events)
        return CatchUpResult(self.name, events=events, customers=len(touched), mode="incremental")

    def replay(self, conn: Connection, engine: Engine, *, progress: Progress) -> SegmentsRebuilt:
        held = 0
        listed = store.all_segments(conn)
        progress.total(len(listed))
        for segment in listed:
            held += evaluate_all(conn, segment, self.moment(segment), "replay")
            progress.advance(1)
        return SegmentsRebuilt(events=0, customers=held)

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None:
        everyone = set(customer_ids) | set(removed)
        update_all(conn, store.all_segments(conn), everyone, self.moment, "refold")

    # --- time -------------------------------------------------------------------------------
    def tick(self, conn: Connection, now: datetime) -> TickResult:
        result = TickResult(self.name, now)
        for segment in store.all_segments(conn):
            moved = tick_segment(conn, segment, now)
            if moved is None:
                continue
            result.evaluated += moved[0]
            for kind, n in moved[1].items():
                result.moved[kind] = result.moved.get(kind, 0) + n
        return result

    def next_due(self, conn: Connection) -> datetime | None:
        dues = [s.next_due for s in store.all_segments(conn) if s.next_due is not None]
        return min(dues, default=None)


# --- the operations, one segment at a time ------------------------------------------------------


def update(
    conn: Connection, segment: SegmentRow, customer_ids: Collection[str], now: datetime, cause: str
) -> dict[str, int]:
    """Re-evaluate these customers at `now`; record who entered and who left."""
    if not customer_ids:
        return {}
    held = store.evaluate(conn, segment.rule, now, customer_ids)
    were = store.members(conn, segment.id, customer_ids)
    return _record(conn, segment, held - were, were - held, now, cause)


def update_all(
    conn: Connection,
    listed: Sequence[SegmentRow],
    customer_ids: Collection[str],
    moment: Callable[[SegmentRow], datetime],
    cause: str,
) -> list[tuple[SegmentRow, datetime]]:
    """Re-evaluate these customers in every segment: the segments evaluated at the same moment
    share one query (their behaviours counted in one pass over the customers' interactions).
    Returns each segment with the moment it was evaluated at."""
    at = [(segment, moment(segment)) for segment in listed]
    if not customer_ids:
        return at
    by_moment: dict[datetime, list[SegmentRow]] = {}
    for segment, now in at:
        by_moment.setdefault(now, []).append(segment)
    for now, group in by_moment.items():
        found = store.evaluate_many(conn, [s.rule for s in group], now, customer_ids)
        were = store.members_of(conn, [s.id for s in group], customer_ids)
        for segment, held in zip(group, found, strict=True):
            old = were.get(segment.id, set())
            _record(conn, segment, held - old, old - held, now, cause)
    return at


def evaluate_all(conn: Connection, segment: SegmentRow, now: datetime, cause: str) -> int:
    """Re-evaluate everyone at `now` (the segment's clock moves there); returns the members."""
    held = store.evaluate(conn, segment.rule, now)
    were = store.members(conn, segment.id)
    _record(conn, segment, held - were, were - held, now, cause)
    store.set_clock(
        conn,
        segment.id,
        evaluated_at=now,
        next_due=next_due(conn, segment.rule, now),
        stage_seq=store.last_stage_seq(conn),
    )
    return len(held)


def tick_segment(
    conn: Connection, segment: SegmentRow, now: datetime
) -> tuple[int, dict[str, int]] | None:
    """Let time pass to `now` for one segment (None: its clock is there already)."""
    before = segment.evaluated_at
    if before is not None and now <= before:
        return None
    if (
        before is None
        or rules.score_models(segment.rule)
        or rules.reads_rfm(segment.rule)
        or rules.reads_predictions(segment.rule)
    ):
        # Never evaluated, or scores decay continuously, or RFM groups (quintiles over everyone,
        # recency growing) moved, or a scoring run replaced a model's predictions: everyone, now.
        held = evaluate_all(conn, segment, now, "tick")
        return held, {}
    scope: set[str] = set()
    if segment.next_due is not None and segment.next_due <= now:
        for behaviour in rules.rolling_behaviours(segment.rule):
            spans = rules.crossings(behaviour.window, before, now)
            scope |= store.crossing_customers(conn, behaviour, spans)
    stage_seq = store.last_stage_seq(conn)
    if _reads_stage(segment.rule) and stage_seq > segment.stage_seq:
        scope |= store.staged_since(conn, segment.stage_seq)
    moved = update(conn, segment, scope, now, "tick")
    due: datetime | None | bool = False
    if segment.next_due is None or segment.next_due <= now:
        due = next_due(conn, segment.rule, now)
    store.set_clock(conn, segment.id, evaluated_at=now, next_due=due, stage_seq=stage_seq)
    return len(scope), moved


def rescore(conn: Connection, moment: Callable[[SegmentRow], datetime]) -> dict[str, int]:
    """After a scoring run replaced a predictive model's scores: every segment reading
    predictions re-evaluated whole (cause `scoring`); returns each one's members by id."""
    held = {}
    for segment in store.all_segments(conn):
        if rules.reads_predictions(segment.rule):
            held[segment.id] = evaluate_all(conn, segment, moment(segment), "scoring")
    return held


def next_due(conn: Connection, rule: Rule, now: datetime) -> datetime | None:
    """When a window of the rule next changes what it holds after `now` (None: never)."""
    dues = []
    for behaviour in rules.rolling_behaviours(rule):
        earliest = None if behaviour.window.period else store.earliest_inside(conn, behaviour, now)
        due = rules.next_crossing(behaviour.window, now, earliest)
        if due is not None:
            dues.append(due)
    return min(dues, default=None)


def _due_from_rows(rule: Rule, rows: Sequence[Mapping[str, Any]], now: datetime) -> datetime | None:
    """The earliest window edge the batch's interactions add (an upper bound is enough: a due
    moment too early only makes a tick look for crossings and find none)."""
    dues = []
    for behaviour in rules.rolling_behaviours(rule):
        moments = [r["occurred_at"] for r in rows if r["type"] == behaviour.event.type]
        if not moments:
            continue
        if behaviour.window.period is not None:
            dues.append(rules.next_period_start(behaviour.window.period, now))
        elif behaviour.window.seconds is not None:
            width = timedelta(seconds=behaviour.window.seconds)
            inside = [at + width for at in moments if at + width > now]  # the rest left already
            dues.extend(inside[:1] and [min(inside)])
    return min(dues, default=None)


def _reads_stage(rule: Rule) -> bool:
    return any(isinstance(c, Stage) for c in rules.conditions(rule))


def _record(
    conn: Connection,
    segment: SegmentRow,
    entered: set[str],
    left: set[str],
    now: datetime,
    cause: str,
) -> dict[str, int]:
    store.record(conn, segment.id, entered=entered, left=left, at=now, cause=cause)
    moved = {}
    if entered:
        moved[store.ENTERED] = len(entered)
    if left:
        moved[store.LEFT] = len(left)
    return moved
