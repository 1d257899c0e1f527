"""Tickets' terms, pure: the moves a status allows, what replies and moves do to the clocks, and
the ticket-based first-contact resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.domain import sla
from touchpoint.domain import tickets as terms
from touchpoint.domain.calendar import BusinessCalendar

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ALWAYS = BusinessCalendar.always_open()
POLICY = sla.SlaPolicy("sales", (), 3600, 1800, 86_400)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_closed_is_final_and_solved_may_only_reopen_or_close() -> None:
    with pytest.raises(terms.TicketError, match="closed is final"):
        terms.check_move("closed", "open")
    with pytest.raises(terms.TicketError, match="may become open, closed"):
        terms.check_move("solved", "pending")
    with pytest.raises(terms.TicketError, match="unknown status 'done'"):
        terms.check_move("open", "done")
    with pytest.raises(terms.TicketError, match="cannot become new"):
        terms.check_move("open", "new")
    terms.check_move("new", "solved")
    assert terms.is_reopen("solved", "open") and not terms.is_reopen("pending", "open")


def test_a_reply_meets_the_first_response_and_starts_the_next_never_touching_resolution() -> None:
    clocks = terms.opened_clocks(POLICY, "new", T0)
    assert set(clocks) == {sla.FIRST_RESPONSE, sla.RESOLUTION}
    after = terms.after_reply(clocks, POLICY, "open", minutes(10), ALWAYS)
    assert sla.state(after[sla.FIRST_RESPONSE], minutes(90), ALWAYS) == "met"
    assert sla.deadline(after[sla.NEXT_RESPONSE], ALWAYS) == minutes(40)
    assert after[sla.RESOLUTION] == clocks[sla.RESOLUTION]
    again = terms.after_reply(after, POLICY, "open", minutes(50), ALWAYS)  # 10 minutes late
    assert again[sla.NEXT_RESPONSE].cycle == 2
    assert sla.deadline(again[sla.NEXT_RESPONSE], ALWAYS) == minutes(80)


def test_pending_pauses_every_clock_and_leaving_it_resumes_them() -> None:
    clocks = terms.opened_clocks(POLICY, "new", T0)
    pending = terms.after_move(clocks, POLICY, "open", "pending", minutes(20), ALWAYS)
    assert {sla.state(c, minutes(500), ALWAYS) for c in pending.values()} == {"paused"}
    back = terms.after_move(pending, POLICY, "pending", "open", minutes(140), ALWAYS)
    assert sla.deadline(back[sla.FIRST_RESPONSE], ALWAYS) == minutes(180)  # 40 minutes left
    held = terms.after_move(back, POLICY, "open", "on_hold", minutes(150), ALWAYS)
    assert sla.deadline(held[sla.FIRST_RESPONSE], ALWAYS) == minutes(180)  # on hold runs on


def test_solving_stops_every_clock_and_a_reopen_starts_new_cycles() -> None:
    clocks = terms.after_reply(
        terms.opened_clocks(POLICY, "new", T0), POLICY, "open", minutes(5), ALWAYS
    )
    solved = terms.after_move(clocks, POLICY, "open", "solved", minutes(30), ALWAYS)
    assert {sla.state(c, minutes(90), ALWAYS) for c in solved.values()} == {"met"}
    late = terms.after_move(clocks, POLICY, "open", "solved", minutes(60), ALWAYS)
    assert sla.state(late[sla.NEXT_RESPONSE], minutes(60), ALWAYS) == "breached"  # owed at 35
    reopened = terms.after_move(solved, POLICY, "solved", "open", minutes(120), ALWAYS)
    assert reopened[sla.FIRST_RESPONSE] == solved[sla.FIRST_RESPONSE]  # met once, stays met
    assert (reopened[sla.RESOLUTION].cycle, sla.deadline(reopened[sla.RESOLUTION], ALWAYS)) == (
        2,
        minutes(120 + 24 * 60),
    )
    assert (
        reopened[sla.NEXT_RESPONSE].cycle,
        sla.deadline(reopened[sla.NEXT_RESPONSE], ALWAYS),
    ) == (
        2,
        minutes(150),
    )


def test_no_policy_keeps_no_clocks() -> None:
    assert terms.opened_clocks(None, "new", T0) == {}
    assert terms.after_reply({}, None, "open", T0, ALWAYS) == {}


def test_first_contact_resolution_waits_for_its_window() -> None:
    solved = T0
    day = timedelta(days=1)
    fcr = terms.first_contact_resolution
    assert fcr(None, [], T0 + 30 * day) is None  # never solved
    assert fcr(solved, [], T0 + 3 * day) is None  # the window is still open
    assert fcr(solved, [], T0 + 7 * day) is True
    assert fcr(solved, [T0 - day], T0 + 8 * day) is True  # contacts before the solve do not count
    assert fcr(solved, [T0 + 4 * day], T0 + 5 * day) is False  # came back within 7 days
    assert fcr(solved, [T0 + 8 * day], T0 + 9 * day) is True  # came back after it
    assert fcr(solved, [T0 + 4 * day], T0 + 9 * day, window_s=3 * 86_400) is True
