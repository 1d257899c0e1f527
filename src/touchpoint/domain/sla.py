"""SLA clocks in business time: how long a ticket may wait for its first response, its next
response and its resolution, counted only while the queue's calendar is open and the ticket is
not pending on the customer. Pure: the services keep the clocks in the tickets' tables and call
these functions with the queue's calendar (docs/decisions.md, "Tickets and SLA clocks").

A clock counts business seconds while it runs. Pausing it (the ticket went pending) adds the
business time of the span just ended to `consumed_s`; resuming starts a new span. So its deadline
is always `calendar.add_business_time(running_since, target_s - consumed_s)`, and the time it has
used is `consumed_s + calendar.business_seconds_between(running_since, at)`. Stopping it (a reply
met the first response, the ticket was solved) freezes what it consumed: met if that is within
the target and no breach was fired, breached otherwise.

Each clock counts cycles: a resolution clock starts a new cycle when a solved ticket reopens, a
next-response clock at each agent reply. A warning and a breach fire once per clock per cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal

from touchpoint.domain.calendar import BusinessCalendar

FIRST_RESPONSE: Final = "first_response"
NEXT_RESPONSE: Final = "next_response"
RESOLUTION: Final = "resolution"
CLOCKS: Final[tuple[str, ...]] = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
BREACHED_EVENT: Final = "ticket_breached"  # the tickets stream's event of a fired breach

ClockState = Literal["running", "paused", "met", "breached"]
CLOCK_STATES: Final[tuple[str, ...]] = ("running", "paused", "met", "breached")

WARNED: Final = "warned"
BREACHED: Final = "breached"


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The targets of one queue's tickets of some priorities (none listed: every priority), in
    business seconds of the queue's calendar; None: that clock is not kept. `warn_at` is the
    share of a target after which a warning fires (None: no warnings)."""

    queue: str
    priorities: tuple[str, ...]
    first_response_s: float | None
    next_response_s: float | None
    resolution_s: float | None
    warn_at: float | None = None

    def covers(self, queue: str | None, priority: str) -> bool:
        return queue == self.queue and (not self.priorities or priority in self.priorities)

    def target(self, clock: str) -> float | None:
        targets = {
            FIRST_RESPONSE: self.first_response_s,
            NEXT_RESPONSE: self.next_response_s,
            RESOLUTION: self.resolution_s,
        }
        return targets[clock]


def policy_for(policies: Sequence[SlaPolicy], queue: str | None, priority: str) -> SlaPolicy | None:
    """The policy covering a queue and priority (the configuration allows at most one)."""
    return next((policy for policy in policies if policy.covers(queue, priority)), None)


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA clock of one ticket, in its current cycle."""

    name: str
    cycle: int
    target_s: float
    warn_at: float | None
    started_at: datetime
    consumed_s: float = 0.0  # business seconds used before `running_since`
    running_since: datetime | None = None  # None: paused or stopped
    stopped_at: datetime | None = None
    warned_at: datetime | None = None  # the moment the warning fell due, once fired
    breached_at: datetime | None = None  # the deadline, once its breach fired

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None


@dataclass(frozen=True, slots=True)
class Firing:
    """A warning or a breach that fell due: which clock, which cycle, at what moment."""

    clock: str
    cycle: int
    kind: str  # WARNED or BREACHED
    at: datetime  # the moment it fell due (not when it was noticed)


@dataclass(frozen=True, slots=True)
class ClockView:
    """A clock as a reader sees it at a moment."""

    name: str
    cycle: int
    state: ClockState
    target_s: float
    elapsed_s: float  # business seconds used
    remaining_s: float  # business seconds left (negative: overdue by that much)
    due_at: datetime | None  # None while paused or once stopped
    started_at: datetime
    stopped_at: datetime | None


def start(
    name: str, cycle: int, target_s: float, warn_at: float | None, at: datetime, *, running: bool
) -> Clock:
    """A new clock (or a new cycle of one) from `at`, running or paused from the start."""
    return Clock(
        name=name,
        cycle=cycle,
        target_s=target_s,
        warn_at=warn_at,
        started_at=at,
        running_since=at if running else None,
    )


def elapsed(clock: Clock, at: datetime, calendar: BusinessCalendar) -> float:
    """Business seconds the clock has used by `at`."""
    if clock.running_since is None or at <= clock.running_since:
        return clock.consumed_s
    return clock.consumed_s + calendar.business_seconds_between(clock.running_since, at)


def pause(clock: Clock, at: datetime, calendar: BusinessCalendar) -> Clock:
    """Stop counting from `at` (the ticket went pending); nothing changes on a paused clock."""
    if clock.running_since is None:
        return clock
    return replace(clock, consumed_s=elapsed(clock, at, calendar), running_since=None)


def resume(clock: Clock, at: datetime) -> Clock:
    """Count again from `at`; nothing changes on a running or stopped clock."""
    if clock.running_since is not None or clock.stopped:
        return clock
    return replace(clock, running_since=at)


def stop(clock: Clock, at: datetime, calendar: BusinessCalendar) -> Clock:
    """The clock's cycle ends at `at` (met, or breached if it was overdue)."""
    if clock.stopped:
        return clock
    return replace(pause(clock, at, calendar), stopped_at=at)


def deadline(clock: Clock, calendar: BusinessCalendar) -> datetime | None:
    """When the target runs out, if the clock runs (None while paused or stopped)."""
    return _moment_of(clock, clock.target_s, calendar)


def warning_moment(clock: Clock, calendar: BusinessCalendar) -> datetime | None:
    """When the warning falls due, if the clock runs and warns."""
    if clock.warn_at is None:
        return None
    return _moment_of(clock, clock.warn_at * clock.target_s, calendar)


def next_firing(clock: Clock, calendar: BusinessCalendar) -> datetime | None:
    """The next moment this clock fires something (its warning, then its breach), or None."""
    if clock.stopped or clock.running_since is None:
        return None
    if clock.warned_at is None and clock.breached_at is None:
        warn = warning_moment(clock, calendar)
        if warn is not None:
            return warn
    return deadline(clock, calendar) if clock.breached_at is None else None


def fire(clock: Clock, now: datetime, calendar: BusinessCalendar) -> tuple[Clock, list[Firing]]:
    """The warning and breach that fell due by `now` and were not fired yet, and the clock with
    them recorded (each fires once per cycle; a breach noticed late still brings its warning)."""
    if clock.stopped or clock.running_since is None:
        return clock, []
    fired: list[Firing] = []
    warn = warning_moment(clock, calendar)
    if clock.warned_at is None and warn is not None and warn <= now:
        clock = replace(clock, warned_at=warn)
        fired.append(Firing(clock.name, clock.cycle, WARNED, warn))
    due = deadline(clock, calendar)
    if clock.breached_at is None and due is not None and due <= now:
        clock = replace(clock, breached_at=due)
        fired.append(Firing(clock.name, clock.cycle, BREACHED, due))
    return clock, fired


def state(clock: Clock, at: datetime, calendar: BusinessCalendar) -> ClockState:
    """running, paused, met (stopped within its target) or breached (overdue, stopped or not)."""
    used = elapsed(clock, at, calendar)
    overdue = clock.breached_at is not None or used > clock.target_s
    if clock.stopped:
        return "breached" if overdue else "met"
    if overdue or (clock.running_since is not None and used >= clock.target_s):
        return "breached"
    return "running" if clock.running_since is not None else "paused"


def view(clock: Clock, at: datetime, calendar: BusinessCalendar) -> ClockView:
    used = elapsed(clock, at, calendar)
    return ClockView(
        name=clock.name,
        cycle=clock.cycle,
        state=state(clock, at, calendar),
        target_s=clock.target_s,
        elapsed_s=used,
        remaining_s=clock.target_s - used,
        due_at=deadline(clock, calendar),
        started_at=clock.started_at,
        stopped_at=clock.stopped_at,
    )


def _moment_of(clock: Clock, budget_s: float, calendar: BusinessCalendar) -> datetime | None:
    if clock.stopped or clock.running_since is None:
        return None
    return calendar.add_business_time(clock.running_since, max(budget_s - clock.consumed_s, 0.0))


# --- attainment -----------------------------------------------------------------------------------


def decided_cycles(cycle: int, stopped: bool, breached: Sequence[int]) -> tuple[int, int]:
    """(met, breached) among one clock's decided cycles, from its current cycle, whether that
    one is stopped, and the cycles whose breach fired. Cycles before the current one ended (a
    reply or a reopen started the next); the current one is decided once stopped, or once its
    breach fired. A cycle whose breach fired is breached even if it was met late afterwards;
    every other ended cycle was met; a running cycle not yet breached is undecided."""
    late = {c for c in breached if 1 <= c <= cycle}
    ended = set(range(1, (cycle if stopped else cycle - 1) + 1))
    return len(ended - late), len(late)


def attainment(met: int, breached: int) -> float | None:
    """SLA attainment of a clock: met / (met + breached) over decided cycles (None if none)."""
    decided = met + breached
    return met / decided if decided else None
