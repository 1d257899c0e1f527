"""Starting runs from triggers, set-based: a consumer reads the log (interactions) or a domain-event
stream (lifecycle, segments, scores, tickets) after its own checkpoint and starts the runs a batch
calls for in the same transaction as the checkpoint — the batch's keys looked up at once, its new
runs and their first steps written with one executemany each. A run's key (playbook, customer,
occurrence) is unique, so reading an event twice starts one run.

The log consumer also wakes the `wait_for` steps of the customers whose interactions it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, func, select

from touchpoint.automation.base import BATCH, STALE_TRIGGER, Automation, digest, run_key
from touchpoint.domain import playbooks as rules
from touchpoint.domain.playbooks import PER_OCCURRENCE, Playbook
from touchpoint.projections.events import STREAMS, Consumer, DomainEvent
from touchpoint.store import automation as store
from touchpoint.store import projections as checkpoints
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.log import last_seq
from touchpoint.store.tables import (
    score_crossings,
    segment_changes,
    stage_transitions,
    ticket_events,
)

LOG_CONSUMER = "automation.log"
STAGE_CONSUMER = "automation.lifecycle"
# The stream -> its consumer's checkpoint name, and the table whose seq is its position.
STREAM_CONSUMERS = {
    "lifecycle": STAGE_CONSUMER,
    "segments": "automation.segments",
    "scores": "automation.scores",
    "tickets": "automation.tickets",
}
_STREAM_TABLES = {
    "lifecycle": stage_transitions,
    "segments": segment_changes,
    "scores": score_crossings,
    "tickets": ticket_events,
}


@dataclass(frozen=True, slots=True)
class Entry:
    """A customer entering a playbook: the trigger (its id and moment) and when the first step
    is due (a schedule's occurrence may lie a few minutes ahead)."""

    playbook: Playbook
    customer_id: str
    trigger_id: str
    trigger_at: datetime
    due_at: datetime | None = None
    occurrence: str | None = None  # a schedule names it; else the trigger's id (or once)


def fresh(at: datetime, now: datetime) -> bool:
    """A trigger older than STALE_TRIGGER starts no run: history imported, or a playbook
    resumed over an old log, must not flood customers with messages about long-past events."""
    return now - at <= STALE_TRIGGER


def start_runs(conn: Connection, entries: Iterable[Entry]) -> int:
    """Start the runs these entries call for, once per key and as the re-entry rule lets each
    customer in (in the entries' order); returns how many started."""
    keyed: dict[str, tuple[Entry, str]] = {}
    for entry in entries:
        occurrence = rules.occurrence(entry.playbook, entry.occurrence or entry.trigger_id)
        key = run_key(entry.playbook.name, entry.customer_id, occurrence)
        keyed.setdefault(key, (entry, occurrence))
    if not keyed:
        return 0
    taken = store.existing_keys(conn, keyed)
    todo = [(key, entry, occ) for key, (entry, occ) in keyed.items() if key not in taken]
    starts = _earlier_starts(conn, [entry for _, entry, _ in todo])
    runs, steps = [], []
    for key, entry, occurrence in todo:
        playbook = entry.playbook
        if playbook.reentry != PER_OCCURRENCE:
            earlier = starts.setdefault((playbook.name, entry.customer_id), [])
            if rules.may_enter(playbook, earlier, entry.trigger_at):
                continue
            earlier.append(entry.trigger_at)
        run_id = f"run_{digest(key)}"
        runs.append(
            {
                "id": run_id,
                "key": key,
                "playbook": playbook.name,
                "customer_id": entry.customer_id,
                "occurrence": occurrence,
                "trigger_id": entry.trigger_id,
                "trigger_at": entry.trigger_at,
                "started_at": entry.trigger_at,
                "status": "active",
                "reason": None,
            }
        )
        steps.append(
            {
                "key": f"{key}|0",
                "run_id": run_id,
                "step": 0,
                "kind": playbook.steps[0].kind,
                "due_at": entry.due_at or entry.trigger_at,
            }
        )
    store.add_runs(conn, runs, steps)
    return len(runs)


def _earlier_starts(
    conn: Connection, entries: list[Entry]
) -> dict[tuple[str, str], list[datetime]]:
    """The earlier starts a re-entry rule reads, for the entries whose playbook has one."""
    wanted: dict[str, tuple[Playbook, set[str]]] = {}
    for entry in entries:
        if entry.playbook.reentry != PER_OCCURRENCE:
            wanted.setdefault(entry.playbook.name, (entry.playbook, set()))[1].add(
                entry.customer_id
            )
    found: dict[tuple[str, str], list[datetime]] = {}
    for name, (_, customers) in wanted.items():
        for customer_id, moments in store.starts_of(conn, name, customers).items():
            found[(name, customer_id)] = moments
    return found


# --- the log -------------------------------------------------------------------------------------


def follow_log(auto: Automation, now: datetime) -> int:
    """Start runs for the log's new interactions and wake the wait_for steps they may end."""
    chosen = auto.chosen()
    on_log = [p for p in chosen if p.trigger.kind == "interaction"]
    awaited = {
        str(step.action["type"]) for p in chosen for step in p.steps if step.kind == "wait_for"
    }
    types = {p.trigger.subject for p in on_log} | awaited
    started, more = 0, True
    while more:  # one transaction per batch, each with its checkpoint
        with read_connection(auto.engine) as conn:
            mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
            if last_seq(conn) <= (mark.position if mark else 0):
                return started
        with write_transaction(auto.engine) as conn:
            mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
            after, upto = (mark.position if mark else 0), last_seq(conn)
            rows = store.log_after(conn, after, upto, types, BATCH) if types else []
            entries = [
                Entry(playbook, row["customer_id"], row["id"], row["occurred_at"])
                for row in rows
                for playbook in on_log
                if rules.matches(playbook.trigger, cast(Mapping[str, Any], row))
                and fresh(row["occurred_at"], now)
            ]
            started += start_runs(conn, entries)
            waking = {row["customer_id"] for row in rows if row["type"] in awaited}
            if waking:
                store.wake_waiting(conn, waking, now)
            more = len(rows) == BATCH
            position = rows[-1]["seq"] if more else upto
            checkpoints.write_checkpoint(
                conn, LOG_CONSUMER, source="log", position=position, version=1, now=now
            )
    return started


# --- the domain-event streams ----------------------------------------------------------------------


def follow_streams(auto: Automation, now: datetime) -> int:
    """Start runs for the new events of every stream (a stream no playbook listens to moves its
    checkpoint to its end, so turning a playbook on later does not replay old events)."""
    chosen = auto.chosen()
    started = 0
    for stream, name in STREAM_CONSUMERS.items():
        listening = [p for p in chosen if p.trigger.stream == stream]
        started += _follow_stream(auto.engine, Consumer(name, stream), listening, now)
    return started


def _follow_stream(
    engine: Engine, consumer: Consumer, playbooks: list[Playbook], now: datetime
) -> int:
    if not playbooks:
        with write_transaction(engine) as conn:
            end = int(conn.scalar(select(func.max(_STREAM_TABLES[consumer.stream].c.seq))) or 0)
            if end > consumer.position(conn):
                consumer.done(conn, end)
        return 0
    assert consumer.stream in STREAMS
    started = 0
    while True:
        with write_transaction(engine) as conn:
            events = consumer.pending(conn, BATCH)
            entries = [
                Entry(playbook, event.customer_id, event.key, event.at)
                for event in events
                if event.customer_id and fresh(event.at, now)
                for playbook in playbooks
                if _fires(conn, playbook, event)
            ]
            started += start_runs(conn, entries)
            if events:
                consumer.done(conn, events[-1].position)
        if len(events) < BATCH:
            return started


def _fires(conn: Connection, playbook: Playbook, event: DomainEvent) -> bool:
    detail = store.ticket_change(conn, event.key) if event.kind == "ticket_status" else {}
    return rules.matches_event(playbook.trigger, event.kind, event.subject, detail)
