"""The lifecycle stage as a projection of the log: the first one on the projection contract."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from touchpoint.domain.stages import StageModel
from touchpoint.lifecycle.model import load_model, model_from_text
from touchpoint.lifecycle.projector import EngineCache, LifecycleProjector, model_source
from touchpoint.lifecycle.refold import refold_from_index
from touchpoint.lifecycle.tick import tick_in
from touchpoint.projections.contract import CatchUpResult, LogBatch, Progress, TickResult
from touchpoint.store import lifecycle as store
from touchpoint.store import projections as positions

if TYPE_CHECKING:
    from touchpoint.lifecycle.replay import ReplayReport

# A catch-up touching at least this share of the staged customers reads the whole log in one
# columnar scan (DuckDB's scanners push no filter down); below it, each history by its index.
WHOLE_LOG_SHARE = 0.2
# Up to this many new events, the histories are read by their index whatever the share: the
# columnar scan's fixed cost (the worker process, DuckDB, Arrow: about a second) would dominate.
SMALL_CATCH_UP = 20_000


class LifecycleProjection:
    """Stages and stage transitions (`customer_stages`, `stage_transitions`, `lifecycle_meta`)."""

    name = "lifecycle"
    version = 1

    def __init__(self, initial_model: str | None = None) -> None:
        self.initial_model = initial_model  # for a data directory that has no model yet
        self.engines = EngineCache()
        self.inline = LifecycleProjector(self.engines)

    def is_built(self, conn: Connection) -> bool:
        return "model" in store.read_meta(conn)

    def apply(self, conn: Connection, batch: LogBatch) -> None:
        self.inline(conn, batch.rows, batch.survivor_of)

    def replay(
        self,
        conn: Connection,
        engine: Engine,
        *,
        progress: Progress,
        model: StageModel | None = None,
        clock: datetime | None = None,
    ) -> ReplayReport:
        """Refold the whole log with `model` (default: the model in force, or the initial one),
        with time passed up to `clock` (default: the clock in force; see replay_into)."""
        from touchpoint.lifecycle.replay import replay_into  # DuckDB and Arrow: only to replay

        if model is None:
            meta = store.read_meta(conn)
            built = "model" in meta
            model = model_from_text(model_source(meta)) if built else load_model(self.initial_model)
        return replay_into(conn, engine, model, progress, clock)

    def catch_up(
        self, conn: Connection, engine: Engine, *, after: int, upto: int, progress: Progress
    ) -> CatchUpResult:
        """Rebuild every customer with an event in (after, upto] from their whole history —
        exactly what a replay gives them — and drop customers a deferred import merged away."""
        small = upto - after <= SMALL_CATCH_UP  # positions: at least as many as the new events
        staged = store.staged_count(conn)
        if staged == 0 and not small:  # nothing staged yet (a first import): replay, cheaper
            rebuilt = self.replay(conn, engine, progress=progress)
            return CatchUpResult(self.name, rebuilt.events, rebuilt.customers, mode="incremental")
        touched = positions.customers_after(conn, after, upto)
        removed = store.merged_away_with_stage(conn)
        stage_engine = self.engines.engine_for(model_source(store.read_meta(conn)))
        if not small and len(touched) >= WHOLE_LOG_SHARE * max(staged, 1):
            from touchpoint.lifecycle.replay import refold_from_log  # DuckDB and Arrow

            events = refold_from_log(conn, engine, stage_engine, touched, removed, progress)
        else:
            events = refold_from_index(conn, stage_engine, touched, removed, progress)
        return CatchUpResult(self.name, events=events, customers=len(touched), mode="incremental")

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None:
        stage_engine = self.engines.engine_for(model_source(store.read_meta(conn)))
        refold_from_index(conn, stage_engine, customer_ids, removed, Progress())

    def tick(self, conn: Connection, now: datetime) -> TickResult:
        return tick_in(conn, now, self.engines)

    def next_due(self, conn: Connection) -> datetime | None:
        return store.next_due_at(conn)
