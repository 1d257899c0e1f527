"""The one scheduler: catch every projection up to the log, then let time pass in each, then run
the playbooks (new triggers, due steps). It runs in a process of its own (`work`): the worker
`touchpoint serve` supervises, or `touchpoint worker` beside `serve --no-scheduler`; an embedded
app (`create_app(background_jobs=True)`, tests) runs it in the background of its own process
(`running`); `touchpoint tick` runs it once, for cron.

Between runs the server sleeps until the earliest of: the next regular tick, the earliest moment a
projection said something falls due, and the next look for a lag (an import in another process
that deferred its catch-up, or crashed before it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from touchpoint.automation.runs import RunReport
from touchpoint.domain.moments import future_clock_error
from touchpoint.errors import ValidationError
from touchpoint.projections.contract import CatchUpResult, Progress, TickResult
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center, decide, loyalty, playbooks, tickets
from touchpoint.services.loyalty import LoyaltyRun
from touchpoint.store.engine import checkpointing, read_connection
from touchpoint.store.log import last_seq

log = logging.getLogger("touchpoint.scheduler")

LAG_POLL_SECONDS = 5.0  # how often the server looks for a projection left behind
MIN_SLEEP_SECONDS = 0.5
STORED_WAKE_SECONDS = 0.1  # the least time between two wakes for what ingests stored


@dataclass(frozen=True, slots=True)
class SchedulerRun:
    now: datetime
    caught_up: list[CatchUpResult] = field(default_factory=list)
    ticked: list[TickResult] = field(default_factory=list)
    automation: RunReport | None = None  # playbook runs started and steps executed
    loyalty: LoyaltyRun | None = None  # referral rewards and tier changes written


def run_once(
    tp: Touchpoint,
    now: datetime | None = None,
    progress: Callable[[str], Progress] | None = None,
    *,
    force: bool = False,
) -> SchedulerRun:
    """Catch up every projection that lags, then tick each to `now` (default: the wall clock).
    A `now` past the wall clock is refused unless `force` (see `future_clock_error`)."""
    wall = datetime.now(UTC)
    moment = now or wall
    refused = None if force else future_clock_error(moment, wall, "--now")
    if refused:
        raise ValidationError(refused)
    caught = tp.projections.catch_up(progress) if tp.projections.lagging() else []
    ticked = tp.projections.tick(moment)
    automated = playbooks.run(tp, moment)
    return SchedulerRun(moment, caught, ticked, automated, loyalty.run(tp, moment))


def seconds_to_sleep(tp: Touchpoint, now: datetime, next_tick: datetime) -> float:
    """Until the next regular tick, the earliest due time, or the next look for a lag."""
    wake = min(next_tick, now + timedelta(seconds=LAG_POLL_SECONDS))
    dues = (
        tp.projections.next_due(),
        contact_center.next_deadline(tp),
        tickets.next_deadline(tp),
        playbooks.next_due(tp),  # the next playbook step (or a lease that passes)
    )
    for due in dues:
        if due is not None:
            wake = min(wake, due)
    return max((wake - now).total_seconds(), MIN_SLEEP_SECONDS)


def wake(tp: Touchpoint, now: datetime, next_tick: datetime) -> tuple[datetime, float]:
    """One wake-up of the server's loop: a full run when a tick is owed (regular, or something
    fell due), else a catch-up if some projection lags. Returns (next tick, seconds to sleep)."""
    due = tp.projections.next_due()
    if now >= next_tick or (due is not None and due <= now):
        _log(run_once(tp, now))
        next_tick = now + timedelta(seconds=tp.settings.lifecycle_tick_seconds)
    elif tp.projections.lagging():
        _log(SchedulerRun(now, tp.projections.catch_up()))
    center_due = contact_center.next_deadline(tp)
    if center_due is not None and center_due <= now:
        offered = contact_center.tick(tp)  # expired offers, ended wrap-ups, then dispatch
        if offered:
            log.info("contact center: %s contacts offered", offered)
    tickets.follow_log(tp, now=now)  # inbound interactions naming a ticket (a lag look, like above)
    ticket_due = tickets.next_deadline(tp)
    if ticket_due is not None and ticket_due <= now:
        fired = tickets.tick(tp, now)  # SLA warnings and breaches that fell due
        if fired:
            log.info("tickets: %s SLA warnings and breaches", fired)
    automated = playbooks.run(tp, now)  # new triggers in the log, then the steps due
    if automated.started or automated.executed:
        log.info("playbooks: %s runs started, steps %s", automated.started, automated.executed)
    return next_tick, seconds_to_sleep(tp, datetime.now(UTC), next_tick)


async def run_forever(tp: Touchpoint) -> None:
    """The server's loop, in a thread (the work is blocking database I/O). A failed wake-up is
    logged and retried at the next one; it never stops the loop or the server. Besides its due
    times it wakes when an ingest stores something (at most every STORED_WAKE_SECONDS), so a
    playbook an interaction triggers starts within a fraction of a second."""
    loop = asyncio.get_running_loop()
    stored = asyncio.Event()

    def on_stored() -> None:  # called in the ingesting thread
        loop.call_soon_threadsafe(stored.set)

    tp.ingestor.on_stored.append(on_stored)
    next_tick = datetime.now(UTC) + timedelta(seconds=tp.settings.lifecycle_tick_seconds)
    try:
        while True:
            stored.clear()  # what was stored before this wake, the wake sees
            try:
                next_tick, sleep = await asyncio.to_thread(wake, tp, datetime.now(UTC), next_tick)
            except Exception:
                log.exception("scheduler run failed")
                sleep = LAG_POLL_SECONDS
            await asyncio.sleep(min(sleep, STORED_WAKE_SECONDS))
            left = sleep - STORED_WAKE_SECONDS
            if left > 0 and not stored.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stored.wait(), left)
    finally:
        tp.ingestor.on_stored.remove(on_stored)


def work(tp: Touchpoint, *, stop: threading.Event | None = None) -> None:
    """`touchpoint worker`: the server's loop in a process of its own, so the scheduler's work
    (playbooks, SLA clocks, ticks) has a core beside the server's ingest. It cannot be told of an
    ingest in another process, so between its due times it looks at the log's end every
    `worker_poll_seconds` (one primary-key lookup) and wakes when the log has grown. Runs until
    `stop` is set (or for ever). The SQLite checkpoints are the server's thread's (`serving`):
    the worker's COMMITs leave them to it, as the server's do."""
    stop = stop or threading.Event()
    with checkpointing(tp.engine, thread=False):  # no checkpoint in its COMMITs either
        _loop(tp, stop)


def _loop(tp: Touchpoint, stop: threading.Event) -> None:
    poll = tp.settings.worker_poll_seconds
    try:
        _log(run_once(tp))
    except Exception:
        log.exception("scheduler run failed")
    next_tick = datetime.now(UTC) + timedelta(seconds=tp.settings.lifecycle_tick_seconds)
    seen = _log_end(tp)
    while not stop.is_set():
        try:
            next_tick, sleep = wake(tp, datetime.now(UTC), next_tick)
        except Exception:
            log.exception("scheduler run failed")
            sleep = LAG_POLL_SECONDS
        until = time.monotonic() + sleep
        while not stop.wait(min(poll, max(until - time.monotonic(), 0.0))):
            try:
                end = _log_end(tp)
            except Exception:
                log.exception("reading the log's end failed")
                end = seen
            if end != seen or time.monotonic() >= until:
                seen = end
                break


def _log_end(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return last_seq(conn)


@contextlib.asynccontextmanager
async def serving(tp: Touchpoint) -> AsyncIterator[None]:
    """What a serving process needs while it serves, with or without the scheduler: its SQLite
    checkpoints on a thread of their own, beside its writers rather than in their COMMITs (the
    server ingests, so it writes most), and at the end the decisions shown, written behind."""
    with checkpointing(tp.engine):
        try:
            yield
        finally:
            await asyncio.to_thread(decide.flush_shown, tp)


@contextlib.asynccontextmanager
async def running(tp: Touchpoint) -> AsyncIterator[None]:
    """Serve (`serving`) with the scheduler in this process (an embedded app, tests): once
    before the block starts (so it starts caught up and ticked), then in the background until
    the block ends."""
    async with serving(tp):
        try:
            _log(await asyncio.to_thread(run_once, tp))
        except Exception:
            log.exception("scheduler run failed")
        task = asyncio.create_task(run_forever(tp))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _log(run: SchedulerRun) -> None:
    for result in run.caught_up:
        if result.mode != "none":
            log.info(
                "%s caught up: %s events, %s customers",
                result.name,
                result.events,
                result.customers,
            )
    for tick in run.ticked:
        if tick.moved:
            log.info("%s tick moved %s", tick.name, tick.moved)
