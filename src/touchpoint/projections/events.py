"""Domain events that projections emit, read in order by consumers after their own checkpoint.

A stream is a projection's own history table read by position: "lifecycle" is the stage
transitions (each one a `stage_left` of the stage left, if any, then a `stage_entered`); "tickets"
is the tickets' changes, with the SLA clocks' `ticket_warned` and `ticket_breached`; "segments"
is every segment's entries and exits (`segment_entered`, `segment_left`).

A refold rewrites a customer's transitions (new positions), so a consumer can meet the same change
twice; each event's `key` names the change itself (customer, stage, moment, cause), not its
position, so a consumer that records the keys it acted on (a playbook run's idempotency key) acts
once. A replay with a new model re-emits every transition; the keys of unchanged ones stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from touchpoint.errors import ValidationError
from touchpoint.store import lifecycle as lifecycle_store
from touchpoint.store import projections as store
from touchpoint.store import scores as score_store
from touchpoint.store import segments as segment_store
from touchpoint.store import tickets as ticket_store
from touchpoint.store.engine import write_transaction


@dataclass(frozen=True, slots=True)
class DomainEvent:
    stream: str
    position: int  # where it stands in its stream; consumers checkpoint this
    kind: str  # "stage_entered", "stage_left", …
    customer_id: str
    at: datetime
    subject: str  # what it is about: the stage entered or left
    cause: str | None  # the interaction that caused it (None: time passed)
    reason: str
    key: str  # the same change has the same key, whatever its position


def stage_events(conn: Connection, after: int, limit: int) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    for row in lifecycle_store.transitions_after(conn, after, limit):
        at = row["at"]
        cause = row["interaction_id"]
        where = f"{row['customer_id']}@{at.isoformat()}#{cause or 'time'}"
        common = (row["customer_id"], at)
        if row["from_stage"] is not None:
            events.append(
                DomainEvent(
                    "lifecycle",
                    row["seq"],
                    "stage_left",
                    *common,
                    row["from_stage"],
                    cause,
                    row["reason"],
                    f"stage_left:{row['from_stage']}:{where}",
                )
            )
        events.append(
            DomainEvent(
                "lifecycle",
                row["seq"],
                "stage_entered",
                *common,
                row["to_stage"],
                cause,
                row["reason"],
                f"stage_entered:{row['to_stage']}:{where}",
            )
        )
    return events


def ticket_events(conn: Connection, after: int, limit: int) -> list[DomainEvent]:
    """The tickets' changes (services/tickets.py): ticket_opened, ticket_replied, ticket_status,
    ticket_reopened, ticket_assigned, ticket_linked, and the SLA clocks' ticket_warned and
    ticket_breached, whose subject is the clock (`first_response`…) and whose moment is the one
    it fell due; their key names ticket, clock and cycle, so each is recorded (and read) once."""
    return [
        DomainEvent(
            "tickets",
            row["seq"],
            row["kind"],
            row["customer_id"] or "",
            row["at"],
            row["clock"] or row["ticket_id"],
            None,
            f"{row['ticket_id']} {row['clock']} cycle {row['cycle']}"
            if row["clock"]
            else row["ticket_id"],
            row["key"],
        )
        for row in ticket_store.events_after(conn, after, limit)
    ]


def score_events(conn: Connection, after: int, limit: int) -> list[DomainEvent]:
    """The scores' threshold crossings (projections/scores.py): score_rose_above and
    score_fell_below, whose subject is "model:threshold" (`lead:50`); the key names model,
    threshold, customer, moment and cause, and a refold keeps a crossing it finds again, so each
    is recorded (and read) once."""
    return [
        DomainEvent(
            "scores",
            row["seq"],
            row["kind"],
            row["customer_id"],
            row["at"],
            f"{row['model']}:{row['threshold']:g}",
            row["interaction_id"],
            f"{row['model']} {'rose above' if 'rose' in row['kind'] else 'fell below'} "
            f"{row['threshold']:g}",
            row["key"],
        )
        for row in score_store.crossings_after(conn, after, limit)
    ]


def segment_events(conn: Connection, after: int, limit: int) -> list[DomainEvent]:
    """Segments' entries and exits (projections/segments.py): the subject is the segment's name,
    the reason what moved the customer (ingest, tick, replay, refold, created); the key names
    segment, customer and the how-many-th entry, so each change is recorded (and read) once."""
    return [
        DomainEvent(
            "segments",
            row["seq"],
            row["kind"],
            row["customer_id"],
            row["at"],
            row["name"],
            None,
            row["cause"],
            row["key"],
        )
        for row in segment_store.changes_after(conn, after, limit)
    ]


STREAMS: dict[str, Callable[[Connection, int, int], list[DomainEvent]]] = {
    "lifecycle": stage_events,
    "tickets": ticket_events,
    "segments": segment_events,
    "scores": score_events,
}


def read_events(
    conn: Connection, stream: str, *, after: int, limit: int = 1_000
) -> list[DomainEvent]:
    """The events of `stream` after position `after`, oldest first (at most `limit` source rows)."""
    if stream not in STREAMS:
        raise ValidationError(f"unknown event stream {stream!r}; there are: {', '.join(STREAMS)}")
    return STREAMS[stream](conn, after, limit)


class Consumer:
    """A reader of one stream that remembers, in the checkpoints table, how far it has acted."""

    def __init__(self, name: str, stream: str) -> None:
        if stream not in STREAMS:
            raise ValidationError(
                f"unknown event stream {stream!r}; there are: {', '.join(STREAMS)}"
            )
        self.name, self.stream = name, stream

    def position(self, conn: Connection) -> int:
        mark = store.read_checkpoint(conn, self.name)
        return mark.position if mark else 0

    def pending(self, conn: Connection, limit: int = 1_000) -> list[DomainEvent]:
        return read_events(conn, self.stream, after=self.position(conn), limit=limit)

    def done(self, conn: Connection, position: int) -> None:
        """Record that every event up to `position` was acted on (in the consumer's own
        transaction, with the effects, so a crash redoes neither twice nor never)."""
        store.write_checkpoint(
            conn, self.name, source=self.stream, position=position, version=1, now=datetime.now(UTC)
        )

    def consume(
        self, engine: Engine, act: Callable[[Connection, DomainEvent], None], limit: int = 1_000
    ) -> int:
        """Act on the pending events in one write transaction with the checkpoint; returns how many."""
        with write_transaction(engine) as conn:
            events = self.pending(conn, limit)
            for event in events:
                act(conn, event)
            if events:
                self.done(conn, events[-1].position)
        return len(events)
