"""Rebuild stages and transitions from the whole interaction log, read in one columnar scan: all
customers with a (possibly new) model, or a large share of them (a catch-up after a bulk import).

It brings DuckDB and Arrow, so commands that never replay do not import it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine

from touchpoint.domain.stage_engine import StageEngine, StageState, Transition
from touchpoint.domain.stage_replay import replay_log
from touchpoint.domain.stages import StageModel
from touchpoint.lifecycle.projector import clock_of
from touchpoint.lifecycle.refold import replace, save_results
from touchpoint.perf import without_cycle_collection
from touchpoint.projections.contract import Progress
from touchpoint.store import lifecycle as store
from touchpoint.store.log_columns import read_log_columns


@dataclass
class ReplayReport:
    model: str
    previous_model: str | None
    customers: int = 0
    events: int = 0
    transitions_before: int = 0
    transitions_after: int = 0
    stages_before: Counter[str] = field(default_factory=Counter)
    stages_after: Counter[str] = field(default_factory=Counter)
    customers_moved: int = 0  # customers whose current stage differs from before
    stage_order: tuple[str, ...] = ()  # the new model's stages, for display
    clock_before: str | None = None  # the lifecycle clock (ISO text) before and after
    clock_after: str | None = None


def replay_into(
    conn: Connection,
    engine: Engine,
    model: StageModel,
    progress: Progress,
    clock: datetime | None = None,
) -> ReplayReport:
    """Refold the whole log inside the caller's write transaction: a crash leaves the old
    projection intact. `engine` is for DuckDB's read of the committed log. With `clock`, time
    is taken to have passed up to that moment (and the clock is set to it, earlier or later
    than it was); without, up to the clock in force."""
    stage_engine = StageEngine(model)
    with without_cycle_collection():
        meta = store.read_meta(conn)
        report = ReplayReport(model.label, meta.get("model"), stage_order=model.all_stages)
        before = store.stage_of_each(conn)
        report.stages_before = Counter(before.values())
        report.transitions_before = store.transition_count(conn)
        # The committed log, read by DuckDB (for SQLite in the isolated worker process, see
        # touchpoint.isolation) before this transaction writes anything.
        log = read_log_columns(engine, stage_engine.property_types)
        store.clear(conn)
        until = clock.timestamp() if clock is not None else clock_of(meta)
        report.clock_before = meta.get("clock")
        report.clock_after = clock.isoformat() if clock is not None else meta.get("clock")
        progress.total(pc.count_distinct(log["customer_id"]).as_py())  # counted in customers
        report.events = log.num_rows

        def count(cid: str, state: StageState, moves: list[Transition]) -> None:
            report.customers += 1
            report.transitions_after += len(moves)
            report.stages_after[state.stage or ""] += 1
            if before.get(cid) != state.stage:
                report.customers_moved += 1

        save_results(
            conn, stage_engine, replay_log(stage_engine, log, until=until), progress, count
        )
        generation = int(meta.get("generation", "0")) + 1
        written = {
            "model": model.label,
            "model_source": model.source,
            "generation": str(generation),
        }
        if clock is not None:
            written["clock"] = clock.isoformat()
        store.write_meta(conn, written)
    return report


def refold_from_log(
    conn: Connection,
    engine: Engine,
    stage_engine: StageEngine,
    customer_ids: Collection[str],
    removed: Collection[str],
    progress: Progress,
) -> int:
    """`refold.refold_from_index`, reading the committed log in one columnar scan and keeping
    these customers: faster when they are a large share of everyone (after a bulk import)."""
    clock = clock_of(store.read_meta(conn))
    progress.total(len(customer_ids))
    with without_cycle_collection():
        log = read_log_columns(engine, stage_engine.property_types)
        wanted = pa.array(list(customer_ids), pa.string())
        log = log.filter(pc.is_in(log["customer_id"], value_set=wanted))  # keeps the sort order
        results = replay_log(stage_engine, log, until=clock)
        replace(conn, stage_engine, results, progress, customer_ids, removed)
    return log.num_rows
