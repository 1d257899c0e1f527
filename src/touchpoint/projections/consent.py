"""Consent history as a projection of the log: every `unsubscribe`, `consent_granted` and
`consent_withdrawn` interaction is one row of `consent_history` (domain/consent.py says for what
and to what), never an overwrite; the consent in force is the latest change by occurred_at.

Small state (a few rows per customer), so every operation re-derives exactly the rows it touches
from the log: a batch's own rows, a range of positions, some customers, or everything."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from touchpoint.projections.contract import CatchUpResult, LogBatch, Progress, TickResult
from touchpoint.store import consent as store
from touchpoint.store import projections as positions


@dataclass(frozen=True, slots=True)
class ConsentRebuilt:
    events: int  # consent changes derived from the log
    customers: int = 0


class ConsentProjection:
    """`consent_history`: who granted or withdrew consent for what, when, and what said so."""

    name = "consent"
    version = 2  # 2: the channel consented to may be named by a `channel` property

    def is_built(self, conn: Connection) -> bool:
        return True  # built means checkpointed: the registry replays it when it has no checkpoint

    def apply(self, conn: Connection, batch: LogBatch) -> None:
        store.repoint(conn, batch.survivor_of)
        store.add(conn, batch.rows)

    def catch_up(
        self, conn: Connection, engine: Engine, *, after: int, upto: int, progress: Progress
    ) -> CatchUpResult:
        store.rebuild_range(conn, after, upto)
        events = positions.events_between(conn, after, upto)
        progress.advance(events)
        return CatchUpResult(self.name, events=events, mode="incremental")

    def replay(self, conn: Connection, engine: Engine, *, progress: Progress) -> ConsentRebuilt:
        return ConsentRebuilt(events=store.rebuild_all(conn))

    def refold(
        self, conn: Connection, customer_ids: Collection[str], removed: Collection[str]
    ) -> None:
        store.rebuild_customers(conn, customer_ids, removed)

    def tick(self, conn: Connection, now: datetime) -> TickResult:
        return TickResult(self.name, now)  # consent has no time-based rule

    def next_due(self, conn: Connection) -> datetime | None:
        return None
