"""Rule-based scores as stored (projections/scores.py keeps them from the log): each customer's
points at a reference moment per model, the awards behind them, the threshold crossings.

`decayed_scores(conn, model, now)` is what other code reads (segments, routing): every customer's
score under a model as it stands at `now`, decay applied."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from touchpoint.domain.scores import (
    FoldState,
    ScoreEvent,
    ScoreModel,
    ScoreResult,
    decayed,
    from_epoch,
)
from touchpoint.store.bulk import in_set, insert_rows, set_param
from touchpoint.store.tables import (
    customer_scores,
    customers,
    interactions,
    score_crossings,
    score_meta,
    score_points,
)

_EVENT_COLUMNS = (
    interactions.c.customer_id,
    interactions.c.occurred_at,
    interactions.c.id,
    interactions.c.type,
    interactions.c.channel,
    interactions.c.direction,
    interactions.c.outcome,
    interactions.c.revenue,
    interactions.c.duration_s,
    interactions.c.source,
    interactions.c.medium,
    interactions.c.campaign,
    interactions.c.queue,
    interactions.c.agent,
    interactions.c.name,
    interactions.c.properties,
)
_FIELD_NAMES = (
    "outcome",
    "revenue",
    "duration_s",
    "source",
    "medium",
    "campaign",
    "queue",
    "agent",
    "name",
)
_SCORE_COLUMNS = (
    "customer_id",
    "model",
    "points",
    "reference_at",
    "half_life_s",
    "last_activity_at",
    "due_at",
    "updated_at",
)
_POINT_COLUMNS = ("customer_id", "model", "rule", "interaction_id", "at", "points")
_CROSSING_COLUMNS = (
    "customer_id",
    "model",
    "kind",
    "threshold",
    "at",
    "interaction_id",
    "key",
    "recorded_at",
)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """A customer's score under one model as stored (decay not applied)."""

    customer_id: str
    model: str
    points: float
    reference_at: datetime | None
    half_life_s: float | None
    last_activity_at: datetime | None
    due_at: datetime | None
    updated_at: datetime

    def at(self, moment: datetime) -> float:
        reference = self.reference_at.timestamp() if self.reference_at else None
        return decayed(self.points, reference, moment.timestamp(), self.half_life_s)


# --- the model in force and the clock -----------------------------------------------------------
def read_meta(conn: Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(select(score_meta))}


def write_meta(conn: Connection, values: dict[str, str]) -> None:
    conn.execute(delete(score_meta).where(score_meta.c.key.in_(list(values))))
    insert_rows(conn, score_meta, ("key", "value"), list(values.items()))


# --- the log, as a score reads it ---------------------------------------------------------------
def _event(row: Any) -> ScoreEvent:
    fields = {name: row[name] for name in _FIELD_NAMES if row[name] is not None}
    return ScoreEvent(
        at=row["occurred_at"].timestamp(),
        id=row["id"],
        type=row["type"],
        channel=row["channel"],
        direction=row["direction"],
        fields={**fields, "direction": row["direction"]},
        properties=row["properties"] or {},
    )


def _fold_order(event: ScoreEvent) -> tuple[float, str]:
    return event.at, event.id


def events_of(conn: Connection, customer_ids: Collection[str]) -> dict[str, list[ScoreEvent]]:
    """Every interaction of these customers, each customer's in (occurred_at, id) order (ids by
    code point, as Python orders them, whatever the database's collation)."""
    result: dict[str, list[ScoreEvent]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return result
    query = select(*_EVENT_COLUMNS).where(in_set(interactions.c.customer_id, conn.dialect))
    for row in conn.execute(query, set_param(set(customer_ids), conn.dialect)).mappings():
        result[row["customer_id"]].append(_event(row))
    for events in result.values():
        events.sort(key=_fold_order)
    return result


def events_between(conn: Connection, after: int, upto: int) -> dict[str, list[ScoreEvent]]:
    """The interactions at log positions (after, upto] (a batch's), by customer, each
    customer's in (occurred_at, id) order."""
    query = select(*_EVENT_COLUMNS).where(interactions.c.seq > after, interactions.c.seq <= upto)
    result: dict[str, list[ScoreEvent]] = {}
    for row in conn.execute(query).mappings():
        result.setdefault(row["customer_id"], []).append(_event(row))
    for events in result.values():
        events.sort(key=_fold_order)
    return result


def last_event_before(
    conn: Connection, customer_ids: Collection[str], upto: int
) -> dict[str, float]:
    """Each customer's latest interaction moment among log positions up to `upto` (epoch
    seconds; customers with none are absent) — read from the (customer, occurred_at) index."""
    if not customer_ids:
        return {}
    t = interactions.c
    query = (
        select(t.customer_id, func.max(t.occurred_at))
        .where(in_set(t.customer_id, conn.dialect), t.seq <= upto)
        .group_by(t.customer_id)
    )
    params = set_param(set(customer_ids), conn.dialect)
    return {cid: at.timestamp() for cid, at in conn.execute(query, params) if at is not None}


def fold_states(
    conn: Connection,
    customer_ids: Collection[str],
    models: Sequence[ScoreModel],
    last_at: Mapping[str, float],
    since: float,
) -> dict[str, dict[str, FoldState]]:
    """Where each customer's fold under every model stands, from their stored score and the few
    awards that carry state (those of capped rules, and inactivity awards), or an empty state
    for a customer with no score and no interaction before; a customer whose
    score's reference is an inactivity award (a moment computed, not an interaction's, which the
    stored moment rounds) or who lacks a model's row is left out: it must be refolded. `since`:
    the earliest new event to fold on (older awards of a period-capped rule are out of every
    window it will look at)."""
    if not customer_ids:
        return {}
    params = set_param(set(customer_ids), conn.dialect)
    s, p = customer_scores.c, score_points.c
    rows = conn.execute(
        select(s.customer_id, s.model, s.points, s.reference_at, s.last_activity_at).where(
            in_set(s.customer_id, conn.dialect)
        ),
        params,
    ).all()
    awards: dict[tuple[str, str], list[Any]] = {}
    carried = _carried(models, rows, since)
    if carried is not None:
        query = (
            select(p.customer_id, p.model, p.rule, p.interaction_id, p.at, p.points)
            .where(in_set(p.customer_id, conn.dialect), carried)
            .order_by(p.customer_id, p.model, p.at, p.seq)
        )
        for row in conn.execute(query, params):
            awards.setdefault((row.customer_id, row.model), []).append(row)
    by_customer: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, {})[row.model] = row
    found: dict[str, dict[str, FoldState]] = {
        cid: {m.name: FoldState() for m in models}
        for cid in customer_ids
        if cid not in by_customer and cid not in last_at  # nothing folded yet: a new customer
    }
    for cid, held in by_customer.items():
        if set(held) != {m.name for m in models}:
            continue
        states = {
            m.name: _state(m, held[m.name], awards.get((cid, m.name), []), last_at.get(cid))
            for m in models
        }
        if all(state is not None for state in states.values()):
            found[cid] = {name: state for name, state in states.items() if state is not None}
    return found


def _carried(models: Sequence[ScoreModel], rows: Sequence[Any], since: float) -> Any:
    """Which awards carry state: every award of a rule capped in all (how much it gave), those
    of a period-capped rule inside the longest period before `since`, and the inactivity awards
    since the earliest last activity or reference (fired since the activity; the reference)."""
    p = score_points.c
    rules = [r for m in models for r in m.rules]
    capped = sorted({r.name for r in rules if r.cap is not None})
    periods = {r.name: r.period_s for r in rules if r.period_s is not None and r.cap is None}
    quiet = sorted({r.name for m in models for r in m.inactivity})
    tests = []
    if capped:
        tests.append(p.rule.in_(capped))
    if periods:
        start = from_epoch(since - max(v for v in periods.values() if v is not None))
        tests.append(and_(p.rule.in_(sorted(periods)), p.at > start))
    moments = [m for r in rows for m in (r.last_activity_at, r.reference_at) if m is not None]
    if quiet and moments:
        tests.append(and_(p.rule.in_(quiet), p.at >= min(moments)))
    return or_(*tests) if tests else None


def _state(
    model: ScoreModel, row: Any, awards: list[Any], last_at: float | None
) -> FoldState | None:
    reference = row.reference_at.timestamp() if row.reference_at is not None else None
    activity = row.last_activity_at.timestamp() if row.last_activity_at is not None else None
    quiet = {r.name for r in model.inactivity}
    periods = {r.name: r.period_s for r in model.rules if r.period_s is not None}
    used: dict[str, float] = {}
    windows: dict[str, list[tuple[float, float]]] = {}
    fired: set[str] = set()
    for award in awards:
        at = award.at.timestamp()
        if award.rule in quiet:
            if reference is not None and at >= reference:
                return None  # the reference is this award's computed moment, rounded when stored
            if activity is not None and at > activity:
                fired.add(award.rule)
            continue
        magnitude = abs(award.points)
        used[award.rule] = used.get(award.rule, 0.0) + magnitude
        if award.rule in periods:
            windows.setdefault(award.rule, []).append((at, magnitude))
    return FoldState(
        points=row.points,
        reference_at=reference,
        last_activity_at=activity,
        used=used,
        windows={name: tuple(held) for name, held in windows.items()},
        fired=frozenset(fired),
        last_at=last_at,
    )


def customers_with_events(conn: Connection) -> list[str]:
    query = select(interactions.c.customer_id).distinct()
    return sorted(conn.scalars(query))


def merged_away_with_scores(conn: Connection) -> list[str]:
    """Customers merged into another who still hold score rows (a deferred import merged them)."""
    merged = select(customers.c.id).where(customers.c.merged_into.is_not(None))
    query = select(customer_scores.c.customer_id).where(customer_scores.c.customer_id.in_(merged))
    return sorted(set(conn.scalars(query)))


# --- writing ------------------------------------------------------------------------------------
def clear(conn: Connection) -> None:
    conn.execute(delete(score_points))
    conn.execute(delete(customer_scores))


def forget(conn: Connection, customer_ids: Collection[str]) -> None:
    """Drop these customers' scores and awards (their crossings are diffed by `save`)."""
    if not customer_ids:
        return
    params = set_param(set(customer_ids), conn.dialect)
    for table in (customer_scores, score_points):
        conn.execute(delete(table).where(in_set(table.c.customer_id, conn.dialect)), params)


def save(
    conn: Connection,
    results: Iterable[tuple[str, str, float | None, ScoreResult]],
    customer_ids: Collection[str],
    now: datetime,
    *,
    everyone: bool = False,
) -> None:
    """Insert the scores and awards of customers whose old rows are gone (`forget`), and make
    their crossings (every customer's with `everyone`) exactly the results' own: a crossing found
    again keeps its row and position, a new one is appended, one no longer made is deleted."""
    scores, points, crossings = _rows(results, now)
    insert_rows(conn, customer_scores, _SCORE_COLUMNS, scores)
    insert_rows(conn, score_points, _POINT_COLUMNS, points)
    _replace_crossings(conn, crossings, None if everyone else customer_ids)


def save_appended(
    conn: Connection,
    results: Iterable[tuple[str, str, float | None, ScoreResult]],
    now: datetime,
) -> None:
    """Write what folding on from the stored state gave: each (customer, model)'s score row is
    replaced, the new awards appended, and the crossings not recorded yet appended (one found
    again keeps its row and stream position)."""
    listed = list(results)
    customer_ids = {cid for cid, *_ in listed}
    if not customer_ids:
        return
    params = set_param(customer_ids, conn.dialect)
    conn.execute(
        delete(customer_scores).where(in_set(customer_scores.c.customer_id, conn.dialect)), params
    )
    held = set(
        conn.scalars(
            select(score_crossings.c.key).where(
                in_set(score_crossings.c.customer_id, conn.dialect)
            ),
            params,
        )
    )
    scores, points, crossings = _rows(listed, now)
    insert_rows(conn, customer_scores, _SCORE_COLUMNS, scores)
    insert_rows(conn, score_points, _POINT_COLUMNS, points)
    new = sorted(
        (row for key, row in crossings.items() if key not in held), key=lambda r: (r[4], r[6])
    )
    insert_rows(conn, score_crossings, _CROSSING_COLUMNS, new)


def _replace_crossings(
    conn: Connection, wanted: dict[str, tuple[Any, ...]], customer_ids: Collection[str] | None
) -> None:
    query = select(score_crossings.c.key)
    params: dict[str, Any] = {}
    if customer_ids is not None:
        if not customer_ids:
            return
        query = query.where(in_set(score_crossings.c.customer_id, conn.dialect))
        params = set_param(set(customer_ids), conn.dialect)
    held = set(conn.scalars(query, params))
    gone = sorted(held - set(wanted))
    for start in range(0, len(gone), 500):
        conn.execute(
            delete(score_crossings).where(score_crossings.c.key.in_(gone[start : start + 500]))
        )
    new = sorted(
        (row for key, row in wanted.items() if key not in held), key=lambda r: (r[4], r[6])
    )
    insert_rows(conn, score_crossings, _CROSSING_COLUMNS, new)


def _rows(
    results: Iterable[tuple[str, str, float | None, ScoreResult]], now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """The score rows, award rows and crossings (by key) of fold results."""
    scores: list[tuple[Any, ...]] = []
    points: list[tuple[Any, ...]] = []
    crossings: dict[str, tuple[Any, ...]] = {}
    for cid, model, half_life_s, result in results:
        scores.append(
            (
                cid,
                model,
                result.points,
                _moment(result.reference_at),
                half_life_s,
                _moment(result.last_activity_at),
                _moment(result.due_at),
                now,
            )
        )
        points.extend(
            (cid, model, a.rule, a.interaction_id, from_epoch(a.at), a.points)
            for a in result.awards
        )
        for c in result.crossings:
            key = c.key(model, cid)
            crossings[key] = (
                cid,
                model,
                c.kind,
                c.threshold,
                from_epoch(c.at),
                c.cause,
                key,
                now,
            )
    return scores, points, crossings


def _moment(value: float | None) -> datetime | None:
    return from_epoch(value) if value is not None else None


# --- reading ------------------------------------------------------------------------------------
def due_customers(conn: Connection, now: datetime) -> list[str]:
    query = select(customer_scores.c.customer_id).where(customer_scores.c.due_at <= now).distinct()
    return sorted(conn.scalars(query))


def next_due_at(conn: Connection) -> datetime | None:
    value: datetime | None = conn.scalar(select(func.min(customer_scores.c.due_at)))
    return value


def score_rows(conn: Connection, customer_id: str) -> list[ScoreRow]:
    query = (
        select(*(customer_scores.c[n] for n in _SCORE_COLUMNS))
        .where(customer_scores.c.customer_id == customer_id)
        .order_by(customer_scores.c.model)
    )
    return [ScoreRow(*row) for row in conn.execute(query)]


def iter_score_rows(conn: Connection, model: str) -> Iterator[ScoreRow]:
    query = select(*(customer_scores.c[n] for n in _SCORE_COLUMNS)).where(
        customer_scores.c.model == model
    )
    for row in conn.execute(query):
        yield ScoreRow(*row)


def decayed_scores(conn: Connection, model: str, now: datetime) -> dict[str, float]:
    """customer_id -> the score under `model` as it stands at `now` (decay applied). Customers
    with no interaction have no row (their score is 0)."""
    c = customer_scores.c  # only what the decay reads: one moment per row to convert, not four
    query = select(c.customer_id, c.points, c.reference_at, c.half_life_s).where(c.model == model)
    at = now.timestamp()
    return {
        cid: decayed(points, reference.timestamp() if reference else None, at, half_life)
        for cid, points, reference, half_life in conn.execute(query)
    }


def awards_of(conn: Connection, customer_id: str, model: str) -> list[dict[str, Any]]:
    """The customer's awards under `model`, oldest first (points as given, before decay)."""
    t = score_points.c
    query = (
        select(t.rule, t.interaction_id, t.at, t.points)
        .where(t.customer_id == customer_id, t.model == model)
        .order_by(t.at, t.seq)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def crossings_of(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    t = score_crossings.c
    query = (
        select(t.seq, t.model, t.kind, t.threshold, t.at, t.interaction_id, t.key)
        .where(t.customer_id == customer_id)
        .order_by(t.at, t.seq)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def crossings_after(conn: Connection, position: int, limit: int) -> list[dict[str, Any]]:
    """The crossings recorded after stream position `position`, oldest first."""
    t = score_crossings.c
    query = select(score_crossings).where(t.seq > position).order_by(t.seq).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def crossing_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(score_crossings)) or 0)


def drop_crossings_of_others(conn: Connection) -> None:
    """Delete the crossings of customers who have no interaction any more (merged away)."""
    owners = select(interactions.c.customer_id).distinct()
    conn.execute(delete(score_crossings).where(score_crossings.c.customer_id.not_in(owners)))
