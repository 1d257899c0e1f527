"""Let time pass: move customers whose inactivity window ran out (at_risk, churned) without new events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from touchpoint.domain.stage_engine import StageState, Transition
from touchpoint.lifecycle.projector import EngineCache, clock_of, model_source
from touchpoint.projections.contract import TickResult
from touchpoint.store import lifecycle as store


def tick_in(conn: Connection, now: datetime, engines: EngineCache) -> TickResult:
    """Advance the lifecycle clock to `now` (never backwards) and apply what fell due. Idempotent."""
    meta = store.read_meta(conn)
    before = clock_of(meta)
    clock_before = datetime.fromisoformat(meta["clock"]) if "clock" in meta else None
    if before is not None and now.timestamp() <= before:
        return TickResult("lifecycle", now, skipped=True, clock_before=clock_before)
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
    return TickResult("lifecycle", now, len(states), moved, clock_before=clock_before)
