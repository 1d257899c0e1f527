"""Lifecycle queries shared by every face: stage counts now or at a past moment, the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from touchpoint.domain.stages import StageModel
from touchpoint.lifecycle.model import model_from_text
from touchpoint.lifecycle.projector import model_source
from touchpoint.store import lifecycle as store


@dataclass(frozen=True)
class StageCount:
    stage: str
    customers: int


@dataclass(frozen=True)
class LifecycleSummary:
    model: str  # the stage model in force, name@version
    at: datetime | None  # the moment counted; None means now
    clock: datetime | None  # how far time-based stages have been applied
    total: int
    stages: tuple[StageCount, ...]  # progression stages in model order, then overlays


def model_in_force(conn: Connection) -> StageModel:
    return model_from_text(model_source(store.read_meta(conn)))


def summary(conn: Connection, at: datetime | None = None) -> LifecycleSummary:
    """Customers per stage (in model order, zeros included), now or as they stood at `at`."""
    return _summaries(conn, [at], [store.stage_counts(conn, at)])[0]


def summaries_at(conn: Connection, moments: Sequence[datetime]) -> list[LifecycleSummary]:
    """The summary as it stood at each of `moments` (one query), every one naming the same
    stages in the same order (a trend's rows line up)."""
    return _summaries(conn, list(moments), store.stage_counts_at(conn, moments))


def _summaries(
    conn: Connection, moments: Sequence[datetime | None], counted: list[dict[str, int]]
) -> list[LifecycleSummary]:
    meta = store.read_meta(conn)
    model = model_from_text(model_source(meta))  # the model in force
    seen = set().union(*counted) if counted else set()
    names = list(model.all_stages) + sorted(seen - set(model.all_stages))
    clock = meta.get("clock")
    return [
        LifecycleSummary(
            model=model.label,
            at=at,
            clock=datetime.fromisoformat(clock) if clock else None,
            total=sum(counts.values()),
            stages=tuple(StageCount(name, counts.get(name, 0)) for name in names),
        )
        for at, counts in zip(moments, counted, strict=True)
    ]
