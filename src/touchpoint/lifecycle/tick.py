"""Let time pass: move customers whose inactivity window ran out (at_risk, churned) without new events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from touchpoint.domain.stage_engine import StageState, Transition
from touchpoint.lifecycle.projector import EngineCache, clock_of, model_source
from touchpoint.store import lifecycle as store
from touchpoint.store.engine import write_transaction


@dataclass(frozen=True)
class TickReport:
    now: datetime
    clock_before: datetime | None
    evaluated: int
    moved: dict[str, int]  # stage entered -> customers


def tick(engine: Engine, now: datetime, engines: EngineCache | None = None) -> TickReport:
    """Advance the lifecycle clock to `now` (never backwards) and apply what fell due. Idempotent."""
    engines = engines or EngineCache()
    with write_transaction(engine) as conn:
        meta = store.read_meta(conn)
        before = clock_of(meta)
        clock_before = datetime.fromisoformat(meta["clock"]) if "clock" in meta else None
        if before is not None and now.timestamp() <= before:
            return TickReport(now, clock_before, 0, {})
        stage_engine = engines.engine_for(model_source(meta))
        due = store.due_customers(conn, now)
        states = store.load_states(conn, due)
        results: dict[str, tuple[StageState, float | None]] = {}
        transitions: list[tuple[str, Transition]] = []
        moved: dict[str, int] = {}
        for cid, state in states.items():
            for t in stage_engine.advance(state, [], until=now.timestamp()):
                transitions.append((cid, t))
                moved[t.to_stage] = moved.get(t.to_stage, 0) + 1
            results[cid] = (state, stage_engine.next_due(state))
        store.forget(conn, list(results), transitions=False)
        store.save(conn, results, transitions, stage_engine.model.label)
        store.write_meta(conn, {"clock": now.isoformat()})
    return TickReport(now, clock_before, len(states), moved)
