"""Replay a whole log through the stage engine fast: columnar pre-pass, then a sparse fold.

Most interactions (emails sent, page views…) cannot change a stage: their only effect is to move
the customer's activity clock. A vectorised pass over the columns finds the interactions that can
matter — a customer's first, those of types some rule or counter looks at, and those after a gap
long enough for an inactivity rule — and works out everyone's activity clock, so the Python fold
visits only those. The result is exactly what `StageEngine.advance` gives on every interaction
(a property test holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.domain.stage_engine import Event, StageEngine, StageState, Transition

# The columns `replay_log` needs, sorted by (customer_id, at_us, id).
LOG_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("at_us", pa.int64()),  # occurred_at as microseconds since the epoch (UTC)
        ("id", pa.string()),
        ("type", pa.string()),
        ("channel", pa.string()),
        ("direction", pa.string()),
        ("revenue", pa.float64()),
        ("properties", pa.string()),  # JSON text; may be null where no rule reads properties
    ]
)

CustomerResult = tuple[str, StageState, list[Transition]]


def replay_log(
    engine: StageEngine, log: pa.Table, until: float | None = None
) -> Iterator[CustomerResult]:
    """Every customer's final state and transitions, from their whole (sorted) history."""
    n = log.num_rows
    if n == 0:
        return
    at = log["at_us"].to_numpy() / 1e6  # exactly datetime.timestamp() of the same microseconds
    cust = log["customer_id"]
    starts = np.ones(n, dtype=bool)
    starts[1:] = pc.not_equal(cust.slice(1), cust.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    group = np.cumsum(starts) - 1
    group_start = np.flatnonzero(starts)
    group_end = np.append(group_start[1:] - 1, n - 1)

    activity = _activity_mask(engine, log)
    latest = np.maximum.accumulate(np.where(activity, np.arange(n), -1))
    prev_idx = np.empty(n, dtype=np.int64)
    prev_idx[0] = -1
    prev_idx[1:] = latest[:-1]
    has_prev = prev_idx >= group_start[group]
    prev_at = np.where(has_prev, at[np.maximum(prev_idx, 0)], np.nan)

    visit = _visit_mask(engine, log, starts, at, prev_at)
    rows = np.flatnonzero(visit)
    events = _events(engine, log, rows, at)
    prev = [None if p != p else p for p in prev_at[rows].tolist()]  # NaN → None
    visit_group = group[rows]
    bounds = np.searchsorted(visit_group, np.arange(len(group_start) + 1))

    last_idx = latest[group_end]
    last_act = np.where(last_idx >= group_start, at[np.maximum(last_idx, 0)], np.nan).tolist()
    end_at = at[group_end].tolist()
    end_id = log["id"].take(pa.array(group_end)).to_pylist()
    customer_ids = cust.take(pa.array(group_start)).to_pylist()
    b = bounds.tolist()
    for g, customer_id in enumerate(customer_ids):
        lo, hi = b[g], b[g + 1]
        state = StageState()
        final_act = last_act[g]
        last = (end_at[g], end_id[g], None if final_act != final_act else final_act)
        out = engine.advance_sparse(state, events[lo:hi], prev[lo:hi], last, until)
        yield customer_id, state, out


def _activity_mask(engine: StageEngine, log: pa.Table) -> np.ndarray[Any, Any]:
    mask = pc.invert(
        pc.is_in(log["type"], value_set=pa.array(sorted(engine.inactive_types), pa.string()))
    )
    if engine.activity_directions is not None:
        directions = pa.array(sorted(engine.activity_directions), pa.string())
        mask = pc.and_(mask, pc.is_in(log["direction"], value_set=directions))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _visit_mask(
    engine: StageEngine,
    log: pa.Table,
    starts: np.ndarray[Any, Any],
    at: np.ndarray[Any, Any],
    prev_at: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    if engine.visits_everything:
        return np.ones(len(at), dtype=bool)
    types = pa.array(sorted(engine.visit_types), pa.string())
    visit = pc.or_(pc.is_in(log["type"], value_set=types), pc.is_valid(log["revenue"]))
    mask: np.ndarray[Any, Any] = np.asarray(visit.to_numpy(zero_copy_only=False), dtype=bool)
    mask |= starts
    if engine.min_inactive_s is not None:
        with np.errstate(invalid="ignore"):
            mask |= (at - prev_at) >= engine.min_inactive_s  # NaN gaps compare False
    return mask


def _events(
    engine: StageEngine, log: pa.Table, rows: np.ndarray[Any, Any], at: np.ndarray[Any, Any]
) -> list[Event]:
    taken = log.take(pa.array(rows))
    types = taken["type"].to_pylist()
    props_text = taken["properties"].to_pylist()
    wanted = engine.property_types
    props: list[dict[str, Any] | None] = [
        orjson.loads(text) if text is not None and (wanted is None or t in wanted) else None
        for t, text in zip(types, props_text, strict=True)
    ]
    return list(
        zip(
            at[rows].tolist(),
            taken["id"].to_pylist(),
            types,
            taken["channel"].to_pylist(),
            taken["direction"].to_pylist(),
            taken["revenue"].to_pylist(),
            props,
            strict=True,
        )
    )
