"""The projections of one Touchpoint: apply inline, catch up from checkpoints, replay, refold, tick.

Every operation runs in a write transaction (the single-writer lock) and moves a projection's
checkpoint in the same transaction as its state. A checkpoint means "every log event up to this
position is applied". Inline `apply` moves it only when the projection was current before the
batch; a projection that lags (a bulk import deferred it, or a crash came between an import and
its catch-up) still folds each API batch for read-your-writes, but keeps its checkpoint, and the
next catch-up rebuilds every customer with an event past it — so lagging never loses an event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.errors import NotFound
from touchpoint.projections.contract import (
    CatchUpResult,
    LogBatch,
    Progress,
    Projection,
    TickResult,
)
from touchpoint.store import log
from touchpoint.store import projections as store
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.projections import Checkpoint

LOG = "log"


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    version: int
    checkpoint: int  # last log position applied
    log_position: int  # the log's last position
    lag: int  # log events not yet applied
    needs_replay: bool  # never built, or built by another schema version
    updated_at: datetime | None
    next_due: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Projections:
    """The registry: one instance per open Touchpoint, holding every projection in order."""

    def __init__(self, engine: Engine, projections: Sequence[Projection]) -> None:
        self.engine = engine
        self.items = list(projections)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.items]

    def get(self, name: str) -> Projection:
        for projection in self.items:
            if projection.name == name:
                return projection
        raise NotFound(f"no projection {name!r}; there are: {', '.join(self.names)}")

    # --- inside an ingest transaction ---------------------------------------------------------
    def apply(self, conn: Connection, batch: LogBatch) -> None:
        """Fold one ingest batch into every projection (inline mode)."""
        marks = store.read_checkpoints(conn)
        advanced = []
        for projection in self.items:
            projection.apply(conn, batch)
            mark = marks.get(projection.name)
            if (
                mark is not None
                and mark.version == projection.version
                and mark.position == batch.first_seq
            ):
                advanced.append(projection.name)
        store.advance_checkpoints(conn, advanced, position=batch.last_seq, now=utcnow())

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None:
        """Rebuild these customers in every projection (a merge or unmerge by hand); the
        checkpoints stay: no new log event was applied."""
        for projection in self.items:
            projection.refold(conn, customer_ids, removed)

    # --- their own transactions --------------------------------------------------------------
    def catch_up(
        self, progress: Callable[[str], Progress] | None = None, *, name: str | None = None
    ) -> list[CatchUpResult]:
        """Bring every projection (or the one named) up to the end of the log."""
        results = []
        for projection in [self.get(name)] if name else self.items:
            with write_transaction(self.engine) as conn:
                results.append(self._catch_up(conn, projection, progress))
        return results

    def _catch_up(
        self,
        conn: Connection,
        projection: Projection,
        progress: Callable[[str], Progress] | None,
    ) -> CatchUpResult:
        started = time.perf_counter()
        upto = log.last_seq(conn)
        mark = store.read_checkpoint(conn, projection.name)
        tracker = progress(projection.name) if progress else Progress()
        if _stale(mark, projection) or not projection.is_built(conn):
            rebuilt = projection.replay(conn, self.engine, progress=tracker)
            result = CatchUpResult(
                projection.name, rebuilt.events, rebuilt.customers, mode="replay"
            )
        elif mark.position >= upto:
            return CatchUpResult(projection.name)
        else:
            result = projection.catch_up(
                conn, self.engine, after=mark.position, upto=upto, progress=tracker
            )
        self._mark(conn, projection, upto, utcnow())
        result.seconds = time.perf_counter() - started
        return result

    def replay(self, name: str, progress: Progress | None = None, **options: Any) -> Any:
        """Rebuild one projection from the whole log (options: what the projection takes, e.g.
        the lifecycle's stage model)."""
        projection = self.get(name)
        with write_transaction(self.engine) as conn:
            upto = log.last_seq(conn)
            report = projection.replay(  # type: ignore[call-arg]
                conn, self.engine, progress=progress or Progress(), **options
            )
            self._mark(conn, projection, upto, utcnow())
        return report

    def ensure_built(self) -> None:
        """Build (replay) the projections a data directory does not have yet."""
        with read_connection(self.engine) as conn:
            marks = store.read_checkpoints(conn)
            missing = [
                p for p in self.items if _stale(marks.get(p.name), p) or not p.is_built(conn)
            ]
        for projection in missing:
            self.replay(projection.name)

    def tick(self, now: datetime) -> list[TickResult]:
        """Let time pass in every projection: apply what fell due by `now`. Idempotent."""
        results = []
        for projection in self.items:
            with write_transaction(self.engine) as conn:
                results.append(projection.tick(conn, now))
        return results

    def next_due(self) -> datetime | None:
        with read_connection(self.engine) as conn:
            dues = [d for p in self.items if (d := p.next_due(conn)) is not None]
        return min(dues, default=None)

    def status(self) -> list[ProjectionStatus]:
        with read_connection(self.engine) as conn:
            marks = store.read_checkpoints(conn)
            position = log.last_seq(conn)
            rows = []
            for p in self.items:
                mark = marks.get(p.name)
                applied = mark.position if mark else 0
                rows.append(
                    ProjectionStatus(
                        name=p.name,
                        version=p.version,
                        checkpoint=applied,
                        log_position=position,
                        lag=store.events_between(conn, applied, position),
                        needs_replay=_stale(mark, p),
                        updated_at=mark.updated_at if mark else None,
                        next_due=p.next_due(conn),
                    )
                )
        return rows

    def lagging(self) -> bool:
        """Whether some projection has not applied the whole log (one cheap query each)."""
        with read_connection(self.engine) as conn:
            marks = store.read_checkpoints(conn)
            position = log.last_seq(conn)
        return any(
            _stale(marks.get(p.name), p) or marks[p.name].position < position for p in self.items
        )

    @staticmethod
    def _mark(conn: Connection, projection: Projection, position: int, now: datetime) -> None:
        store.write_checkpoint(
            conn,
            projection.name,
            source=LOG,
            position=position,
            version=projection.version,
            now=now,
        )


def _stale(mark: Checkpoint | None, projection: Projection) -> bool:
    """Never built, or built by another schema version of the projection: it needs a replay."""
    return mark is None or mark.version != projection.version
