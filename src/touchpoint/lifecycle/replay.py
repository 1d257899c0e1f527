"""Rebuild every stage and transition from the interaction log with a (possibly new) model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow.compute as pc
from sqlalchemy import Engine

from touchpoint.domain.stage_engine import StageEngine, StageState, Transition
from touchpoint.domain.stage_replay import replay_log
from touchpoint.domain.stages import StageModel
from touchpoint.lifecycle.projector import clock_of
from touchpoint.perf import without_cycle_collection
from touchpoint.store import lifecycle as store
from touchpoint.store.engine import write_transaction
from touchpoint.store.log_columns import read_log_columns

FLUSH_EVERY = 20_000  # customers per insert round


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


def replay(
    engine: Engine,
    model: StageModel,
    *,
    on_customers: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Refold the whole log in one write transaction: a crash leaves the old projection intact."""
    stage_engine = StageEngine(model)
    with write_transaction(engine) as conn, without_cycle_collection():
        meta = store.read_meta(conn)
        report = ReplayReport(model.label, meta.get("model"), stage_order=model.all_stages)
        before = store.stage_of_each(conn)
        report.stages_before = Counter(before.values())
        report.transitions_before = store.transition_count(conn)
        clock = clock_of(meta)
        # The committed log, read by DuckDB (for SQLite in the isolated worker process, see
        # touchpoint.isolation) before this transaction writes anything.
        log = read_log_columns(engine, stage_engine.property_types)
        store.clear(conn)
        if on_total:  # progress is counted in customers
            on_total(pc.count_distinct(log["customer_id"]).as_py())
        report.events = log.num_rows
        states: dict[str, tuple[StageState, float | None]] = {}
        transitions: list[tuple[str, Transition]] = []
        for cid, state, moves in replay_log(stage_engine, log, until=clock):
            transitions.extend((cid, t) for t in moves)
            states[cid] = (state, stage_engine.next_due(state))
            report.customers += 1
            report.stages_after[state.stage or ""] += 1
            if before.get(cid) != state.stage:
                report.customers_moved += 1
            if len(states) >= FLUSH_EVERY:
                report.transitions_after += len(transitions)
                store.save(conn, states, transitions, model.label)
                if on_customers:
                    on_customers(len(states))
                states, transitions = {}, []
        report.transitions_after += len(transitions)
        store.save(conn, states, transitions, model.label)
        if on_customers:
            on_customers(len(states))
        generation = int(meta.get("generation", "0")) + 1
        store.write_meta(
            conn,
            {"model": model.label, "model_source": model.source, "generation": str(generation)},
        )
    return report
