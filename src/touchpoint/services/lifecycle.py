"""Lifecycle queries shared by every face: stage counts now or at a past moment, the model."""

from __future__ import annotations

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
    meta = store.read_meta(conn)
    model = model_from_text(model_source(meta))  # the model in force
    counts = store.stage_counts(conn, at)
    names = list(model.all_stages) + sorted(set(counts) - set(model.all_stages))
    clock = meta.get("clock")
    return LifecycleSummary(
        model=model.label,
        at=at,
        clock=datetime.fromisoformat(clock) if clock else None,
        total=sum(counts.values()),
        stages=tuple(StageCount(name, counts.get(name, 0)) for name in names),
    )
