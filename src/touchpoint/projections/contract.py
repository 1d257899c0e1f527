"""The contract every projection of the interaction log keeps (see DESIGN.md, "Projections").

A projection is derived state (stages, tickets, scores, segments…) that can always be rebuilt from
the log. It has a name and a schema version and four operations, each given the connection of a
transaction that already holds the single-writer lock:

- `apply(conn, batch)`: fold one ingest batch inline, so an API client reads its own writes;
- `catch_up(conn, engine, after, upto)`: fold every log event in the positions (after, upto] in
  large vectorised batches (after a bulk import, or to repair a lag) — it must give exactly what
  applying those events one batch at a time would;
- `replay(conn, engine)`: rebuild from the whole log;
- `refold(conn, customers, removed)`: rebuild some customers from their log (a merge or an unmerge
  made by hand moves interactions between customers), and drop what `removed` customers had;
- `tick(conn, now)`: time-based rules (inactivity, SLA deadlines) that fell due by `now`;
- `next_due(conn)`: when the next time-based rule falls due, so the scheduler can sleep till then.

The registry (`projections.registry`) keeps each projection's checkpoint — the last log `seq` it
has applied — in the `checkpoints` table, in the same transaction as the state it describes, so a
crash never separates the two and a catch-up resumes where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

# Progress of a long run, in the unit the projection counts (customers or events).
OnProgress = Callable[[int], None]
OnTotal = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class LogBatch:
    """What one ingest transaction appended to the log.

    `rows` are the stored interactions (column name -> value, with their final customer_id), in
    the batch's order; they occupy the log positions (`first_seq`, `last_seq`]. `survivor_of`
    maps every customer merged away by the batch to the customer it merged into.
    """

    rows: list[dict[str, Any]]
    survivor_of: dict[str, str]
    first_seq: int  # the log's last position before the batch
    last_seq: int  # the log's last position after it


@dataclass(slots=True)
class Progress:
    """Callbacks for a long catch-up or replay (both optional)."""

    on_total: OnTotal | None = None
    on_advance: OnProgress | None = None

    def total(self, n: int) -> None:
        if self.on_total:
            self.on_total(n)

    def advance(self, n: int) -> None:
        if self.on_advance:
            self.on_advance(n)


@dataclass(slots=True)
class CatchUpResult:
    """What one projection's catch-up did."""

    name: str
    events: int = 0  # log events folded in
    customers: int = 0  # customers whose state was rebuilt
    seconds: float = 0.0
    mode: str = "none"  # "none" (was current), "incremental" or "replay"


@dataclass(slots=True)
class TickResult:
    name: str
    now: datetime
    evaluated: int = 0  # rows whose due time had passed
    moved: dict[str, int] = field(default_factory=dict)  # what changed, by outcome
    skipped: bool = False  # the projection's clock was already at or past `now`
    clock_before: datetime | None = None  # the projection's clock before this tick


class Rebuilt(Protocol):
    """What a replay reports, at least (a projection's own report may say more)."""

    events: int  # log events folded
    customers: int  # customers rebuilt


class Projection(Protocol):
    """One kind of derived state of the log (see the module docstring)."""

    name: str
    version: int

    def apply(self, conn: Connection, batch: LogBatch) -> None: ...

    def catch_up(
        self, conn: Connection, engine: Engine, *, after: int, upto: int, progress: Progress
    ) -> CatchUpResult: ...

    def replay(self, conn: Connection, engine: Engine, *, progress: Progress) -> Rebuilt: ...

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None: ...

    def tick(self, conn: Connection, now: datetime) -> TickResult: ...

    def next_due(self, conn: Connection) -> datetime | None: ...

    def is_built(self, conn: Connection) -> bool: ...
