"""The SLA clocks, pure: deadlines in business time across a lunch break, a weekend and a public
holiday on Paris office hours, worked out by hand; pausing; warnings and breaches fired once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from touchpoint.domain import sla
from touchpoint.domain.calendar import parse_calendar

OFFICE = parse_calendar(
    {
        "time_zone": "Europe/Paris",  # CEST in June and July: UTC+2
        "hours": {"weekdays": ["09:00-12:00", "13:00-17:00"]},
        "holidays_country": "FR",
    }
)
HOUR = 3600.0


def paris(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour - 2, minute, tzinfo=UTC)  # summer time


def clock(at: datetime, target_s: float = HOUR, warn_at: float | None = None) -> sla.Clock:
    return sla.start(sla.FIRST_RESPONSE, 1, target_s, warn_at, at, running=True)


def test_a_deadline_skips_the_lunch_break() -> None:
    # Monday 11:30: half an hour before lunch, the other half after it.
    assert sla.deadline(clock(paris(1, 6, 11, 30)), OFFICE) == paris(1, 6, 13, 30)


def test_a_deadline_skips_the_weekend_and_a_warning_can_fall_on_closing_time() -> None:
    # Friday 5 June 16:30: 30 minutes on Friday, 30 on Monday morning.
    friday = clock(paris(5, 6, 16, 30), warn_at=0.5)
    assert sla.deadline(friday, OFFICE) == paris(8, 6, 9, 30)
    assert sla.warning_moment(friday, OFFICE) == paris(5, 6, 17, 0)  # the interval used up
    # Eight hours: Friday 0.5, Monday 3 + 4, Tuesday the last half hour.
    long = clock(paris(5, 6, 16, 30), target_s=8 * HOUR)
    assert sla.deadline(long, OFFICE) == paris(9, 6, 9, 30)


def test_a_deadline_skips_a_public_holiday() -> None:
    # Monday 13 July 16:30; Tuesday 14 July is the Fête nationale: Wednesday 09:30.
    assert sla.deadline(clock(paris(13, 7, 16, 30)), OFFICE) == paris(15, 7, 9, 30)


def test_a_clock_started_while_closed_counts_from_the_opening() -> None:
    saturday = clock(paris(6, 6, 10, 0))
    assert sla.deadline(saturday, OFFICE) == paris(8, 6, 10, 0)
    assert sla.elapsed(saturday, paris(8, 6, 9, 15), OFFICE) == 15 * 60


def test_a_paused_clock_keeps_what_it_used_and_resumes_from_there() -> None:
    started = clock(paris(1, 6, 9, 0), target_s=2 * HOUR)
    paused = sla.pause(started, paris(1, 6, 9, 45), OFFICE)  # 45 minutes used
    assert (paused.consumed_s, sla.deadline(paused, OFFICE)) == (45 * 60, None)
    assert sla.state(paused, paris(2, 6, 16, 0), OFFICE) == "paused"  # time passes, nothing used
    assert sla.elapsed(paused, paris(3, 6, 9, 0), OFFICE) == 45 * 60
    resumed = sla.resume(paused, paris(1, 6, 11, 30))  # 75 minutes left: 30 before lunch, 45 after
    assert sla.deadline(resumed, OFFICE) == paris(1, 6, 13, 45)


def test_warning_and_breach_fire_once_each_at_their_moments() -> None:
    running = clock(paris(1, 6, 9, 0), warn_at=0.8)  # warns at 09:48, breaches at 10:00
    assert sla.next_firing(running, OFFICE) == paris(1, 6, 9, 48)
    running, fired = sla.fire(
        running,
        paris(
            1,
            6,
            9,
            47,
        ),
        OFFICE,
    )
    assert fired == []
    running, fired = sla.fire(running, paris(1, 6, 9, 50), OFFICE)
    assert fired == [sla.Firing(sla.FIRST_RESPONSE, 1, sla.WARNED, paris(1, 6, 9, 48))]
    assert sla.next_firing(running, OFFICE) == paris(1, 6, 10, 0)
    running, fired = sla.fire(running, paris(1, 6, 9, 55), OFFICE)
    assert fired == []
    running, fired = sla.fire(running, paris(1, 6, 10, 0), OFFICE)
    assert [f.kind for f in fired] == [sla.BREACHED]
    assert sla.fire(running, paris(1, 6, 11, 0), OFFICE)[1] == []
    assert sla.next_firing(running, OFFICE) is None
    assert sla.state(running, paris(1, 6, 10, 0), OFFICE) == "breached"


def test_a_breach_noticed_late_brings_its_warning_with_its_own_moment() -> None:
    late = clock(paris(1, 6, 9, 0), warn_at=0.5)
    _, fired = sla.fire(late, paris(2, 6, 9, 0), OFFICE)
    assert [(f.kind, f.at) for f in fired] == [
        (sla.WARNED, paris(1, 6, 9, 30)),
        (sla.BREACHED, paris(1, 6, 10, 0)),
    ]


def test_a_stopped_clock_is_met_within_its_target_and_breached_past_it() -> None:
    start = paris(1, 6, 9, 0)
    met = sla.stop(clock(start), start + timedelta(minutes=59), OFFICE)
    assert sla.view(met, paris(3, 6, 9, 0), OFFICE).state == "met"
    assert sla.view(met, paris(3, 6, 9, 0), OFFICE).remaining_s == 60
    late = sla.stop(clock(start), paris(1, 6, 13, 30), OFFICE)  # 3.5 h of office time
    assert sla.view(late, paris(3, 6, 9, 0), OFFICE).state == "breached"
    assert sla.view(late, paris(3, 6, 9, 0), OFFICE).remaining_s == -2.5 * HOUR


def test_the_policy_for_a_queue_and_priority() -> None:
    urgent = sla.SlaPolicy("support", ("high", "urgent"), HOUR, None, 8 * HOUR)
    anything = sla.SlaPolicy("sales", (), HOUR, 1800, None)
    policies = (urgent, anything)
    assert sla.policy_for(policies, "support", "urgent") is urgent
    assert sla.policy_for(policies, "support", "low") is None
    assert sla.policy_for(policies, "sales", "low") is anything
    assert anything.target(sla.RESOLUTION) is None
