"""Rebuild some customers' stages and transitions from their whole history, read by its index
(a merge or unmerge by hand, a small catch-up); and the batched write every rebuild shares."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from sqlalchemy import Connection

from touchpoint.domain.stage_engine import Event, StageEngine, StageState, Transition
from touchpoint.lifecycle.projector import clock_of
from touchpoint.perf import without_cycle_collection
from touchpoint.projections.contract import Progress
from touchpoint.store import lifecycle as store

FLUSH_EVERY = 20_000  # customers per insert round
CustomerResult = tuple[str, StageState, list[Transition]]  # as domain.stage_replay's (no Arrow)


def refold_from_index(
    conn: Connection,
    stage_engine: StageEngine,
    customer_ids: Collection[str],
    removed: Collection[str],
    progress: Progress,
) -> int:
    """Refold these customers (up to the lifecycle clock) and drop what `removed` had; returns
    the events folded. Reads inside the caller's transaction, so it sees its uncommitted moves."""
    clock = clock_of(store.read_meta(conn))
    progress.total(len(customer_ids))
    with without_cycle_collection():
        histories = store.events_of(conn, customer_ids)
        replace(
            conn,
            stage_engine,
            _fold_each(stage_engine, histories, clock),
            progress,
            customer_ids,
            removed,
        )
    return sum(len(h) for h in histories.values())


def replace(
    conn: Connection,
    stage_engine: StageEngine,
    results: Iterable[CustomerResult],
    progress: Progress,
    customer_ids: Collection[str],
    removed: Collection[str],
) -> None:
    """Delete these customers' (and `removed` customers') rows, then save `results`."""
    store.forget(conn, set(customer_ids) | set(removed), transitions=True)
    save_results(conn, stage_engine, results, progress)


def _fold_each(
    stage_engine: StageEngine, histories: dict[str, list[Event]], clock: float | None
) -> Iterable[CustomerResult]:
    for cid, events in histories.items():
        state = StageState()
        moves = stage_engine.advance(state, events, until=clock)
        yield cid, state, moves


def save_results(
    conn: Connection,
    stage_engine: StageEngine,
    results: Iterable[CustomerResult],
    progress: Progress,
    on_result: Callable[[str, StageState, list[Transition]], None] | None = None,
) -> None:
    """Insert customers' stage rows and transitions (their old rows are gone), in rounds."""
    states: dict[str, tuple[StageState, float | None]] = {}
    transitions: list[tuple[str, Transition]] = []
    label = stage_engine.model.label
    for cid, state, moves in results:
        transitions.extend((cid, t) for t in moves)
        states[cid] = (state, stage_engine.next_due(state))
        if on_result:
            on_result(cid, state, moves)
        if len(states) >= FLUSH_EVERY:
            store.save(conn, states, transitions, label)
            progress.advance(len(states))
            states, transitions = {}, []
    store.save(conn, states, transitions, label)
    progress.advance(len(states))
