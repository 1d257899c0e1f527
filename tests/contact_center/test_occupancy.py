"""Occupancy's time (domain.contact_center.agent_time) on hand-written agent days: logged-in and
busy seconds worked out by hand, contacts at once counted once, wrap-ups (one ending during
another), breaks, logouts and the period's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from touchpoint.domain.contact_center import AgentEvent, agent_time, occupancy

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def steps(*found: tuple[float, str] | tuple[float, str, str | float]) -> list[AgentEvent]:
    out = []
    for n, (seconds, kind, *extra) in enumerate(found):
        contact = extra[0] if extra and isinstance(extra[0], str) else None
        wrap = float(extra[0]) if extra and not isinstance(extra[0], str) else None
        out.append(AgentEvent(T0 + timedelta(seconds=seconds), n, kind, contact, wrap))
    return out


def day(end: float, start: float = 0) -> tuple[datetime, datetime]:
    return T0 + timedelta(seconds=start), T0 + timedelta(seconds=end)


def test_two_chats_at_once_count_once_and_a_break_is_logged_in_time() -> None:
    events = steps(
        (0, "ready"),
        (100, "accepted", "c1"),
        (150, "accepted", "c2"),
        (200, "completed", "c1"),
        (300, "completed", "c2"),  # busy 100-300: 200 s, not 250
        (400, "not_ready"),
        (700, "ready"),
        (1000, "logged_out"),
    )
    logged_in, busy = agent_time(events, *day(2000))
    assert (logged_in, busy) == (1000, 200)
    assert occupancy(logged_in, busy) == 0.2


def test_a_wrap_up_ending_during_another_keeps_the_longer() -> None:
    events = steps(
        (0, "ready"),
        (10, "accepted", "c1"),
        (20, "accepted", "c2"),
        (50, "completed", "c1"),
        (50, "wrap_up", 60.0),  # after-work until 110
        (70, "completed", "c2"),
        (70, "wrap_up", 30.0),  # until 100: the first one's 110 stands
        (200, "ready"),  # the router noticed late: busy ends at 110 anyway
        (300, "logged_out"),
    )
    assert agent_time(events, *day(400)) == (300, 100)  # busy 10-110


def test_the_period_cuts_the_day_and_earlier_steps_say_how_it_began() -> None:
    events = steps((0, "ready"), (100, "accepted", "c1"), (500, "transferred", "c1"))
    # from 200 to 600: logged in all 400 s, busy 200-500
    assert agent_time(events, *day(600, start=200)) == (400, 300)
    assert agent_time([], *day(600)) == (0, 0) and occupancy(0, 0) is None
    logged_out_early = steps((0, "ready"), (50, "logged_out"), (80, "accepted", "c9"))
    assert agent_time(logged_out_early, *day(100)) == (50, 0)  # not logged in: not counted
