"""Rule-based scores as a projection of the log (domain/scores.py folds them).

Every operation refolds whole customers from their history read by its index — a batch's
customers, a catch-up's, a merge's, the ones a tick finds due, or everyone — up to the scores'
clock (the last tick). A customer's history is small, and a whole-history fold is the only
incremental step that a late event, a merge or a cap over a rolling period cannot make wrong:
incremental is replay, for the customers it touches.

The score file in force is kept (its text) in `score_meta`; editing the shipped file changes
nothing until `touchpoint score apply FILE` replays with it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from sqlalchemy import Connection, Engine

from touchpoint.domain.scores import (
    ScoreEvent,
    ScoreModel,
    ScoreModelError,
    ScoreResult,
    fold_score,
    parse_score_models,
    resume_score,
)
from touchpoint.errors import ValidationError
from touchpoint.projections.contract import CatchUpResult, LogBatch, Progress, TickResult
from touchpoint.store import projections as positions
from touchpoint.store import scores as store

CHUNK = 2_000  # customers folded and written per round


def default_models_text() -> str:
    return (
        resources.files("touchpoint.projections.score_models").joinpath("default.toml").read_text()
    )


def parse_models(text: str, where: str) -> tuple[ScoreModel, ...]:
    """The models of a score file, or a ValidationError naming `where`, the rule and the problem."""
    try:
        return parse_score_models(text)
    except ScoreModelError as exc:
        raise ValidationError(f"{where}: {exc}") from None


@dataclass(frozen=True, slots=True)
class ScoresRebuilt:
    events: int
    customers: int
    models: tuple[str, ...] = ()


class ScoreProjection:
    """`customer_scores`, `score_points` and `score_crossings`, for every model of the file in
    force."""

    name = "scores"
    version = 1

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[ScoreModel, ...]] = {}

    # --- the models and the clock -------------------------------------------------------------
    def models(self, conn: Connection) -> tuple[ScoreModel, ...]:
        return self._models_of(store.read_meta(conn).get("models") or default_models_text())

    def _models_of(self, text: str) -> tuple[ScoreModel, ...]:
        if text not in self._parsed:
            self._parsed = {text: parse_models(text, "score models")}
        return self._parsed[text]

    @staticmethod
    def clock(conn: Connection) -> float | None:
        return _clock_of(store.read_meta(conn))

    def _in_force(self, conn: Connection) -> tuple[tuple[ScoreModel, ...], float | None]:
        """The models and the clock, from one read of the meta table."""
        meta = store.read_meta(conn)
        return self._models_of(meta.get("models") or default_models_text()), _clock_of(meta)

    def is_built(self, conn: Connection) -> bool:
        return "models" in store.read_meta(conn)

    # --- the contract ---------------------------------------------------------------------------
    def apply(self, conn: Connection, batch: LogBatch) -> None:
        """Fold the batch on: a customer whose new events all come after everything folded for
        them (their history and the clock) goes on from the stored state; the others — a late
        event, a merge, a state that cannot be carried on — are refolded whole."""
        touched = {row["customer_id"] for row in batch.rows} | set(batch.survivor_of.values())
        merged = set(batch.survivor_of) | set(batch.survivor_of.values())
        in_force = self._in_force(conn)
        appended = self._append(conn, batch, touched - merged, in_force)
        again = sorted(touched - appended)
        removed = batch.survivor_of.keys()
        if again or removed:
            self._refold(conn, again, removed, Progress(), in_force)

    def catch_up(
        self, conn: Connection, engine: Engine, *, after: int, upto: int, progress: Progress
    ) -> CatchUpResult:
        touched = positions.customers_after(conn, after, upto)
        removed = store.merged_away_with_scores(conn)
        progress.total(len(touched))
        events = self._refold(conn, sorted(touched), removed, progress)
        return CatchUpResult(self.name, events=events, customers=len(touched), mode="incremental")

    def replay(
        self, conn: Connection, engine: Engine, *, progress: Progress, source: str | None = None
    ) -> ScoresRebuilt:
        """Rescore every customer from the whole log with the score file `source` (default: the
        one in force, else the shipped default), which is then the one in force."""
        meta = store.read_meta(conn)
        text = source or meta.get("models") or default_models_text()
        models = self._models_of(text)
        store.write_meta(conn, {"models": text})
        store.clear(conn)
        everyone = store.customers_with_events(conn)
        progress.total(len(everyone))
        events = self._refold(conn, everyone, (), progress)
        store.drop_crossings_of_others(conn)
        return ScoresRebuilt(events, len(everyone), tuple(m.name for m in models))

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None:
        self._refold(conn, sorted(customer_ids), removed, Progress())

    def tick(self, conn: Connection, now: datetime) -> TickResult:
        """Let time pass up to `now`: refold the customers whose next inactivity rule or decay
        crossing fell due (the clock never goes back)."""
        before = self.clock(conn)
        clock_before = datetime.fromtimestamp(before, UTC) if before is not None else None
        if before is not None and now.timestamp() <= before:
            return TickResult(self.name, now, skipped=True, clock_before=clock_before)
        store.write_meta(conn, {"clock": now.astimezone(UTC).isoformat()})
        due = store.due_customers(conn, now)
        crossings_before = store.crossing_count(conn)
        self._refold(conn, due, (), Progress())
        crossed = store.crossing_count(conn) - crossings_before
        moved = {"rescored": len(due), "crossings": crossed} if due else {}
        return TickResult(self.name, now, len(due), moved, clock_before=clock_before)

    def next_due(self, conn: Connection) -> datetime | None:
        return store.next_due_at(conn)

    # --- the fold -------------------------------------------------------------------------------
    def _append(
        self,
        conn: Connection,
        batch: LogBatch,
        candidates: set[str],
        in_force: tuple[tuple[ScoreModel, ...], float | None],
    ) -> set[str]:
        """Fold the batch's events onto the stored state of the candidates it can be (see
        `apply`); returns who was folded so."""
        if not candidates or batch.last_seq <= batch.first_seq:
            return set()
        models, clock = in_force
        fresh = store.events_between(conn, batch.first_seq, batch.last_seq)
        before = store.last_event_before(conn, candidates, batch.first_seq)
        floor = -math.inf if clock is None else clock
        after = {
            cid
            for cid in candidates
            if fresh.get(cid) and fresh[cid][0].at > max(floor, before.get(cid, -math.inf))
        }
        since = min((fresh[cid][0].at for cid in after), default=0.0)
        states = store.fold_states(conn, after, models, before, since)
        results = [
            (cid, m.name, m.half_life_s, resume_score(m, held[m.name], fresh[cid], clock=clock))
            for cid, held in states.items()
            for m in models
        ]
        store.save_appended(conn, results, datetime.now(UTC))
        return set(states)

    def _refold(
        self,
        conn: Connection,
        customer_ids: Sequence[str],
        removed: Collection[str],
        progress: Progress,
        in_force: tuple[tuple[ScoreModel, ...], float | None] | None = None,
    ) -> int:
        """Rebuild these customers from their whole history and drop what `removed` had; returns
        the events folded. Reads inside the caller's transaction (it sees its own moves)."""
        models, clock = in_force or self._in_force(conn)
        now = datetime.now(UTC)
        store.forget(conn, removed)
        store.save(conn, (), removed, now)  # their crossings go
        folded = 0
        for start in range(0, len(customer_ids), CHUNK):
            chunk = customer_ids[start : start + CHUNK]
            histories = store.events_of(conn, chunk)
            store.forget(conn, chunk)
            store.save(conn, _fold_each(models, histories, clock), chunk, now)
            folded += sum(len(h) for h in histories.values())
            progress.advance(len(chunk))
        return folded


def _fold_each(
    models: Sequence[ScoreModel], histories: dict[str, list[ScoreEvent]], clock: float | None
) -> Iterable[tuple[str, str, float | None, ScoreResult]]:
    for cid, events in histories.items():
        if not events:
            continue
        for model in models:
            yield cid, model.name, model.half_life_s, fold_score(model, events, clock=clock)


def _clock_of(meta: dict[str, str]) -> float | None:
    value = meta.get("clock")
    return datetime.fromisoformat(value).timestamp() if value else None
