"""Tickets through the service on SQLite and PostgreSQL, with an explicit clock: replies, pending
on the customer (whose answer arrives through the log), reopening, office hours, the scheduler
firing warnings and breaches once at the first wake after their moment, and first-contact
resolution within and after its window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.tickets.desk import T0, Desk
from touchpoint.errors import Conflict, ValidationError
from touchpoint.projections.events import Consumer
from touchpoint.runtime import Touchpoint
from touchpoint.services import scheduler, tickets
from touchpoint.store.engine import read_connection


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_reply_meets_the_first_response_and_starts_the_next_one(tp: Touchpoint) -> None:
    desk = Desk(tp)
    ticket = desk.open(at(0))  # sales, 24/7: first response 1h, next 30m, resolution 1d
    assert (ticket.status, [c.name for c in ticket.clocks]) == (
        "new",
        ["first_response", "resolution"],
    )
    replied = tickets.reply(tp, ticket.id, agent="ana", actor="test", now=at(10))
    clocks = {c.name: c for c in replied.clocks}
    assert replied.status == "open" and replied.replies == 1
    assert (clocks["first_response"].state, clocks["first_response"].elapsed_s) == ("met", 600)
    assert clocks["next_response"].due_at == at(40)
    assert clocks["resolution"].due_at == at(24 * 60)  # untouched by the reply
    # The second reply comes 10 minutes late: that cycle breached, the next is due 30 min later.
    again = tickets.reply(tp, ticket.id, agent="bo", actor="test", now=at(50))
    clocks = {c.name: c for c in again.clocks}
    assert (clocks["next_response"].cycle, clocks["next_response"].due_at) == (2, at(80))
    assert again.interactions == [
        f"tkt-{ticket.id}-opened",
        f"tkt-{ticket.id}-reply-1",
        f"tkt-{ticket.id}-reply-2",
    ]
    with read_connection(tp.engine) as conn:
        kinds = [e.kind for e in Consumer("test", "tickets").pending(conn)]
    assert kinds.count("ticket_breached") == 1


def test_pending_pauses_the_clocks_until_the_customer_answers_through_the_log(
    tp: Touchpoint,
) -> None:
    desk = Desk(tp)
    ticket = desk.open(at(0))
    tickets.reply(tp, ticket.id, agent="ana", status="pending", actor="test", now=at(20))
    paused = desk.clocks(ticket.id, at(600))
    assert {c.state for c in paused.values()} == {"met", "paused"}
    assert paused["resolution"].remaining_s == 86_400 - 20 * 60  # ten hours later, still
    desk.customer_writes(ticket, at(140))  # the customer answers at 11:20
    view = tickets.get(tp, ticket.id, now=at(150))
    clocks = {c.name: c for c in view.clocks}
    assert view.status == "open"
    assert clocks["next_response"].due_at == at(170)  # 30 minutes of it, from 11:20
    assert clocks["resolution"].due_at == at(140 + 24 * 60 - 20)
    assert f"mail-{ticket.id}-1" in view.interactions


def test_a_reopen_counts_and_restarts_the_resolution_clock_and_closed_is_final(
    tp: Touchpoint,
) -> None:
    desk = Desk(tp)
    ticket = desk.open(at(0))
    tickets.reply(tp, ticket.id, agent="ana", actor="test", now=at(5))
    solved = tickets.set_status(tp, ticket.id, "solved", actor="test", now=at(30))
    assert {c.state for c in solved.clocks} == {"met"}
    desk.customer_writes(ticket, at(120))  # the customer comes back: the ticket reopens
    reopened = tickets.get(tp, ticket.id, now=at(121))
    clocks = {c.name: c for c in reopened.clocks}
    assert (reopened.status, reopened.reopen_count) == ("open", 1)
    assert (clocks["resolution"].cycle, clocks["resolution"].due_at) == (2, at(120 + 24 * 60))
    assert clocks["first_response"].state == "met"
    tickets.set_status(tp, ticket.id, "solved", actor="test", now=at(200))
    tickets.set_status(tp, ticket.id, "closed", actor="test", now=at(300))
    with pytest.raises(Conflict, match="closed is final"):
        tickets.set_status(tp, ticket.id, "open", actor="test", now=at(400))


def test_office_hours_clocks_wait_for_monday(tp: Touchpoint) -> None:
    desk = Desk(tp)
    friday = datetime(2026, 6, 5, 14, 30, tzinfo=UTC)  # 16:30 in Paris
    ticket = desk.open(friday, queue="support", priority="urgent")
    clocks = {c.name: c for c in ticket.clocks}
    assert clocks["first_response"].due_at == datetime(2026, 6, 8, 7, 30, tzinfo=UTC)
    assert clocks["resolution"].due_at == datetime(2026, 6, 9, 7, 30, tzinfo=UTC)
    saturday = desk.clocks(ticket.id, datetime(2026, 6, 6, 12, 0, tzinfo=UTC))
    assert saturday["first_response"].remaining_s == 30 * 60  # the weekend counts for nothing


def test_the_scheduler_fires_a_warning_and_a_breach_at_the_first_wake_after_them_once(
    tp: Touchpoint,
) -> None:
    desk = Desk(tp)
    ticket = desk.open(at(0))  # first response due 10:00, warning at 80%: 09:48
    assert tickets.next_deadline(tp) == at(48)
    assert scheduler.seconds_to_sleep(tp, at(48) - timedelta(seconds=2), at(120)) == 2.0
    consumer = Consumer("playbooks", "tickets")

    def wake(moment: datetime) -> list[tuple[str, str, datetime]]:
        scheduler.wake(tp, moment, moment + timedelta(hours=1))
        with read_connection(tp.engine) as conn:
            events = [e for e in consumer.pending(conn) if e.kind.endswith(("warned", "breached"))]
        return [(e.kind, e.subject, e.at) for e in events]

    assert wake(at(48) - timedelta(seconds=1)) == []
    assert wake(at(48)) == [("ticket_warned", "first_response", at(48))]
    assert wake(at(48) + timedelta(seconds=3)) == [("ticket_warned", "first_response", at(48))]
    assert tickets.next_deadline(tp) == at(60)
    assert wake(at(60) - timedelta(seconds=1)) == [("ticket_warned", "first_response", at(48))]
    fired = wake(at(60) + timedelta(seconds=1))
    assert fired[-1] == ("ticket_breached", "first_response", at(60))
    assert wake(at(61)) == fired  # once per clock and cycle, however often it wakes
    assert tickets.tick(tp, at(90)) == 0
    listed = tickets.find(tp, breached=True, now=at(90))[1]
    assert [t.id for t in listed] == [ticket.id]


def test_first_contact_resolution_within_and_after_seven_days(tp: Touchpoint) -> None:
    desk = Desk(tp)
    day = 24 * 60
    came_back, stayed_away, later = desk.open(at(0)), desk.open(at(0)), desk.open(at(0))
    for ticket in (came_back, stayed_away, later):
        tickets.set_status(tp, ticket.id, "solved", actor="test", now=at(30))
    desk.customer_writes(came_back, at(4 * day))  # within the week: not FCR
    desk.customer_writes(later, at(8 * day))  # after it: still FCR
    now = at(9 * day)
    views = [
        tickets.get(tp, t.id, now=now).first_contact_resolution
        for t in (came_back, stayed_away, later)
    ]
    assert views == [False, True, True]
    summary = tickets.fcr_summary(tp, start=at(0), end=at(day), now=now)
    assert (summary.solved, summary.resolved_first_contact, summary.rate) == (3, 2, 2 / 3)
    three_days = tickets.fcr_summary(tp, start=at(0), end=at(day), now=now, window_s=3 * 86_400)
    assert three_days.resolved_first_contact == 3
    early = tickets.fcr_summary(tp, start=at(0), end=at(day), now=at(2 * day))
    assert (early.undecided, early.rate) == (3, None)


def test_an_inbound_interaction_naming_an_unknown_ticket_opens_it(tp: Touchpoint) -> None:
    Desk(tp)
    item = {
        "id": "zendesk-mail-1",
        "type": "email_received",
        "channel": "email",
        "direction": "inbound",
        "occurred_at": at(0).isoformat(),
        "customer": {"email": "zoe@example.com"},
        "queue": "sales",
        "properties": {"ticket_id": "ZD-4411", "subject": "refund", "priority": "high"},
    }
    follow_up = item | {"id": "zendesk-mail-2", "occurred_at": at(5).isoformat()}
    assert tp.ingestor.ingest([(0, item), (1, follow_up)]).accepted == 2
    total, found = tickets.find(tp, now=at(10))
    assert total == 1
    (ticket,) = found
    assert (ticket.external_ref, ticket.subject, ticket.priority, ticket.queue) == (
        "ZD-4411",
        "refund",
        "high",
        "sales",
    )
    assert tickets.get(tp, ticket.id, now=at(10)).interactions == [
        "zendesk-mail-1",
        "zendesk-mail-2",
    ]
    assert {c.name: c.due_at for c in ticket.clocks}["first_response"] == at(60)


def test_bad_changes_name_the_field(tp: Touchpoint) -> None:
    desk = Desk(tp)
    with pytest.raises(ValidationError, match="^queue: no queue named 'billing'"):
        desk.open(at(0), queue="billing")
    with pytest.raises(ValidationError, match="^priority: unknown priority 'asap'"):
        desk.open(at(0), priority="asap")
    with pytest.raises(ValidationError, match="^owner: no agent named 'zed'"):
        desk.open(at(0), owner="zed")
    ticket = desk.open(at(0))
    with pytest.raises(ValidationError, match="^status: unknown status 'done'"):
        tickets.set_status(tp, ticket.id, "done", actor="test", now=at(1))
    with pytest.raises(ValidationError, match="^agent: no agent named 'zed'"):
        tickets.reply(tp, ticket.id, agent="zed", actor="test", now=at(1))
    assigned = tickets.assign(tp, ticket.id, "bo", actor="test", now=at(2))
    assert assigned.owner == "bo"
