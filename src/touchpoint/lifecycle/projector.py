"""Keep stages and transitions current as interactions are ingested (inside the ingest transaction).

Events that arrive in order continue each customer's saved fold; a late event (older than what was
already folded in) or a merge refolds that customer from the log, so the projection always equals
a replay of the log in (occurred_at, id) order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.stage_engine import Event, StageEngine, StageState, Transition
from touchpoint.lifecycle.model import builtin_model_text, model_from_text
from touchpoint.store import lifecycle as store

CustomerUpdate = tuple[StageState, list[Transition]]


class EngineCache:
    """The compiled engine of the model in force, rebuilt only when the model text changes."""

    def __init__(self) -> None:
        self._source: str | None = None
        self._engine: StageEngine | None = None

    def engine_for(self, source: str) -> StageEngine:
        if self._engine is None or source != self._source:
            self._engine = StageEngine(model_from_text(source))
            self._source = source
        return self._engine


def model_source(meta: dict[str, str]) -> str:
    return meta.get("model_source") or builtin_model_text("default")


def clock_of(meta: dict[str, str]) -> float | None:
    value = meta.get("clock")
    return datetime.fromisoformat(value).timestamp() if value else None


def event_from_dict(row: dict[str, Any]) -> Event:
    return (
        row["occurred_at"].timestamp(),
        row["id"],
        row["type"],
        row["channel"],
        row["direction"],
        row["revenue"],
        row["properties"],
    )


class LifecycleProjector:
    """The inline fold: `project(conn, rows, survivor_of)` after each stored batch."""

    def __init__(self, engines: EngineCache | None = None) -> None:
        self.engines = engines or EngineCache()

    def __call__(
        self, conn: Connection, rows: list[dict[str, Any]], survivor_of: dict[str, str]
    ) -> None:
        meta = store.read_meta(conn)
        engine = self.engines.engine_for(model_source(meta))
        clock = clock_of(meta)
        new_events: dict[str, list[Event]] = defaultdict(list)
        for row in rows:
            new_events[row["customer_id"]].append(event_from_dict(row))
        survivors = set(survivor_of.values())
        touched = set(new_events) | survivors
        states = store.load_states(conn, touched)
        results: dict[str, CustomerUpdate] = {}
        refold: set[str] = set()
        for cid in touched:
            events = sorted(new_events.get(cid, ()))
            state = states.get(cid)
            if cid in survivors or (
                state is not None and not state.accepts_in_order(events[0][0], events[0][1])
            ):
                refold.add(cid)
                continue
            state = state or StageState()
            results[cid] = (state, engine.advance(state, events, until=clock))
        for cid, events in store.events_of(conn, refold).items():
            state = StageState()
            results[cid] = (state, engine.advance(state, events, until=clock))
        store.forget(conn, touched, transitions=False)
        store.forget(conn, refold | set(survivor_of), transitions=True)
        store.save(
            conn,
            {cid: (state, engine.next_due(state)) for cid, (state, _) in results.items()},
            [(cid, t) for cid, (_, transitions) in results.items() for t in transitions],
            engine.model.label,
        )
