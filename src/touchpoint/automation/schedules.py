"""Scheduled triggers: birthdays and other anniversaries of a date trait, N days after a first
interaction of a type, N days without inbound activity, a day of every month — each in the
customer's time zone, once per occurrence (the occurrence is the run's key).

Each scheduled playbook has a checkpoint: the moment up to which its occurrences have been looked
for. A pass that finds the horizon less than half a LOOKAHEAD ahead looks for the occurrences in
(checkpoint, now + LOOKAHEAD] and starts their runs with the first step due at the occurrence
itself, so the step runs on time (the scheduler sleeps until it) while the customers are read only
every few minutes. The first look starts at now (turning a playbook on sends no birthday wishes for
the past), and after a downtime it reaches back at most STALE_TRIGGER (a day), like every trigger.
A customer whose trait changes inside the horizon already scanned is seen at the next occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from touchpoint.automation.base import STALE_TRIGGER, Automation
from touchpoint.automation.triggers import Entry, start_runs
from touchpoint.domain import playbook_schedules as schedules
from touchpoint.domain.playbooks import Playbook, time_zone
from touchpoint.store import automation as store
from touchpoint.store import projections as checkpoints
from touchpoint.store.engine import write_transaction

LOOKAHEAD = timedelta(minutes=10)
_SLACK = timedelta(days=2)  # a local `at` moves an occurrence by less than a day either way


def checkpoint_name(playbook: str) -> str:
    return f"automation.schedule.{playbook}"


def follow_schedules(auto: Automation, now: datetime) -> int:
    """Start the runs of the scheduled playbooks' occurrences up to now + LOOKAHEAD."""
    started = 0
    for playbook in auto.chosen():
        if playbook.trigger.scheduled:
            started += _follow(auto, playbook, now)
    return started


def _follow(auto: Automation, playbook: Playbook, now: datetime) -> int:
    name = checkpoint_name(playbook.name)
    with write_transaction(auto.engine) as conn:
        mark = checkpoints.read_checkpoint(conn, name)
        covered = datetime.fromtimestamp(mark.position, UTC) if mark else None
        if covered is not None and covered - now >= LOOKAHEAD / 2:
            return 0
        start = max(covered or now, now - STALE_TRIGGER)
        end = now + LOOKAHEAD
        entries = list(occurrences(conn, playbook, start, end))
        started = start_runs(conn, sorted(entries, key=lambda e: (e.due_at, e.customer_id)))
        checkpoints.write_checkpoint(
            conn, name, source="schedule", position=int(end.timestamp()), version=1, now=now
        )
    return started


def occurrences(
    conn: Connection, playbook: Playbook, start: datetime, end: datetime
) -> Iterator[Entry]:
    """The entries for every customer's occurrence of the playbook's schedule in (start, end]."""
    trigger = playbook.trigger
    kind, at = trigger.kind, trigger.at
    if kind in (schedules.ANNIVERSARY, schedules.MONTHLY):
        trait = trigger.subject if kind == schedules.ANNIVERSARY else None
        local_days = _local_days(start, end)
        if kind == schedules.MONTHLY and not any(
            d == schedules.monthly_date(int(trigger.subject), d.year, d.month) for d in local_days
        ):
            return  # the day of the month is in no time zone's window
        month_days = {d.strftime("%m-%d") for d in local_days}
        if month_days & {"02-28", "03-01"}:
            month_days.add("02-29")  # a leap-day birthday in a common year
        rows = store.traits_of_all(conn, trait, month_days if trait else ())
        for row in rows:
            traits = dict(row["traits"] or {})
            zone = time_zone(traits)
            assert at is not None
            if trait is not None:
                value = schedules.read_date(traits.get(trait))
                found = (
                    schedules.anniversaries(
                        value, trait, start, end, zone, at=at, feb29=trigger.feb29
                    )
                    if value is not None
                    else []
                )
            else:
                found = schedules.monthlies(int(trigger.subject), start, end, zone, at=at)
            yield from (_entry(playbook, row["id"], o) for o in found)
        return
    days = timedelta(days=trigger.days or 0)
    if kind == schedules.DAYS_AFTER_FIRST:
        pairs = store.first_of_type(
            conn, trigger.subject, start - days - _SLACK, end - days + _SLACK
        )
        label = f"after_first:{trigger.subject}+{trigger.days}d"
    else:
        pairs = store.last_inbound(conn, start - days - _SLACK, end - days + _SLACK)
        label = f"inactive:{trigger.days}d"
    zones = _zones(conn, [c for c, _ in pairs]) if at is not None else {}
    for customer_id, moment in pairs:
        key = label if kind == schedules.DAYS_AFTER_FIRST else f"{label}:{moment.isoformat()}"
        zone = zones.get(customer_id) or time_zone({})
        due = schedules.after(moment, trigger.days or 0, key, zone, at=at)
        if start < due.at <= end:
            yield _entry(playbook, customer_id, due)


def _local_days(start: datetime, end: datetime) -> list[date]:
    """Every calendar day the window (start, end] touches in some time zone (UTC-12 to +14)."""
    first = (start - timedelta(hours=12)).date()
    last = (end + timedelta(hours=14)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _entry(playbook: Playbook, customer_id: str, found: schedules.Occurrence) -> Entry:
    return Entry(
        playbook,
        customer_id,
        found.key,
        found.at,
        due_at=found.at,
        occurrence=found.key,
    )


def _zones(conn: Connection, customer_ids: list[str]) -> dict[str, ZoneInfo]:
    wanted = set(customer_ids)
    return {
        row["id"]: time_zone(dict(row["traits"] or {}))
        for row in store.traits_of_all(conn)
        if row["id"] in wanted
    }
