"""The router against a real database (SQLite and PostgreSQL), with an explicit clock: offers and
leases, the line's order, wrap-up across queues, lifecycle rules, and what reaches the log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.contact_center.center import Center
from touchpoint.contact_center import router
from touchpoint.errors import Conflict, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center as service
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_agents, interactions


def test_an_offer_goes_to_the_longest_idle_ready_agent_or_waits_in_line(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    cc.at(60).ready("bo")  # ana idle since 0, bo since 60: ana is the longest idle
    first = cc.at(100).offer()
    assert (first.status, first.agent) == ("reserved", "ana")
    assert first.decision == {
        "strategy": "longest-idle-agent",
        "candidates": ["ana", "bo"],
        "reason": "longest-idle-agent among 2",
    }
    second = cc.offer()
    assert (second.status, second.agent) == ("reserved", "bo")
    third = cc.offer()  # both busy with a call (capacity 1 phone)
    assert (third.status, third.position, third.agent) == ("waiting", 1, None)
    # 1 in line, 2 agents serving, 240 s default handle time: 1 * 240 / 2
    assert third.estimated_wait_s == 120.0


def test_an_unaccepted_offer_expires_back_to_the_head_of_the_line(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    early = cc.at(1).offer()
    late = cc.at(2).offer()
    assert (early.agent, late.status) == ("ana", "waiting")
    # The lease is 10 s: at 11 s ana missed it, goes not ready, and early is first in line again.
    again = cc.at(11).state(early.id)
    assert (again.status, again.position) == ("waiting", 1)
    assert cc.state(late.id).position == 2
    with read_connection(tp.engine) as conn:
        row = conn.execute(select(cc_agents).where(cc_agents.c.id == "ana")).mappings().one()
    assert (row["state"], row["reason"]) == ("not_ready", "missed an offer")
    with pytest.raises(Conflict, match="expired"):
        cc.run(router.accept, early.id, "ana")
    cc.at(12).run(router.set_agent_state, "ana", "ready")
    assert cc.state(early.id).agent == "ana"  # the older contact first, not late


def test_accept_complete_wrap_up_holds_across_queues(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    sale = cc.at(5).offer(queue="sales")
    cc.run(router.accept, sale.id, "ana")
    waiting = cc.at(6).offer(queue="support")
    assert waiting.status == "waiting"
    cc.at(20).run(router.complete, sale.id, "ana", "sale")
    # sales has 30 s of wrap-up: nothing from support either until 50 s.
    assert cc.at(49).state(waiting.id).status == "waiting"
    assert (cc.at(50).state(waiting.id).status, cc.state(waiting.id).agent) == ("reserved", "ana")
    with pytest.raises(Conflict, match="not assigned to bo"):
        cc.run(router.complete, waiting.id, "bo")


def test_higher_priority_first_then_the_longest_waiting_across_queues(tp: Touchpoint) -> None:
    cc = Center(tp)
    old_support = cc.at(0).offer(queue="support")
    new_sales = cc.at(30).offer(queue="sales")  # sales has priority 5
    newer_support = cc.at(40).offer(queue="support")
    cc.at(50).ready("ana")
    assert cc.state(new_sales.id).agent == "ana"
    assert cc.state(old_support.id).position == 1
    assert cc.state(newer_support.id).position == 2


def test_at_risk_customers_go_to_the_retention_team(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    cc.at(100).ready("bo")  # ana is the longest idle, but bo is on the retention team
    risky = cc.at(200).offer(stage="at_risk")
    assert (risky.agent, risky.rules) == ("bo", ("retention team for at-risk customers",))
    happy = cc.offer(stage="loyalty")
    assert (happy.agent, happy.rules) == ("ana", ())


def test_abandon_frees_the_offer_and_logs_the_contact(tp: Touchpoint) -> None:
    cc = Center(tp)
    waiting = cc.at(0).offer()
    gone = cc.at(45).run(router.abandon, waiting.id)
    assert gone.status == "abandoned"
    with pytest.raises(Conflict):
        cc.run(router.abandon, waiting.id)
    assert service.flush_log(tp) == 1
    assert service.flush_log(tp) == 0  # once
    with read_connection(tp.engine) as conn:
        row = (
            conn.execute(select(interactions).where(interactions.c.id == f"cc-{waiting.id}"))
            .mappings()
            .one()
        )
    assert (row["type"], row["outcome"], row["agent"], row["queue"]) == (
        "call",
        "abandoned",
        None,
        "support",
    )
    assert row["properties"]["wait_s"] == 45.0


def test_a_completed_contact_reaches_the_log_with_its_wait_agent_and_handle_time(
    tp: Touchpoint,
) -> None:
    cc = Center(tp)
    contact = cc.at(0).offer(queue="support", channel="chat")
    cc.at(12).ready("bo")
    cc.at(15).run(router.accept, contact.id, "bo")
    cc.at(75).run(router.complete, contact.id, "bo", "resolved")
    assert service.flush_log(tp) == 1
    with read_connection(tp.engine) as conn:
        row = (
            conn.execute(select(interactions).where(interactions.c.id == f"cc-{contact.id}"))
            .mappings()
            .one()
        )
    assert (row["type"], row["channel"], row["agent"], row["outcome"]) == (
        "chat",
        "chat",
        "bo",
        "resolved",
    )
    assert (row["properties"]["wait_s"], row["duration_s"]) == (15.0, 60.0)


def test_the_same_external_ref_is_the_same_contact(tp: Touchpoint) -> None:
    cc = Center(tp)
    first = cc.at(0).offer(external_ref="asterisk-1700000000.42")
    again = cc.at(1).offer(external_ref="asterisk-1700000000.42")
    assert first.id == again.id


def test_bad_requests_name_the_field(tp: Touchpoint) -> None:
    cc = Center(tp)
    with pytest.raises(ValidationError, match="queue: no queue named 'billing'"):
        cc.offer(queue="billing")
    with pytest.raises(
        ValidationError, match="channel: queue sales takes phone, chat, not 'email'"
    ):
        cc.offer(queue="sales", channel="email")
    with pytest.raises(ValidationError, match="state: 'lunch' is not one of"):
        cc.run(router.set_agent_state, "ana", "lunch")


def test_a_callback_keeps_its_place_and_never_jumps_ahead(tp: Touchpoint) -> None:
    cc = Center(tp)
    before = cc.at(0).offer()
    asker = cc.at(10).offer()
    after = cc.at(20).offer()
    cc.at(30).run(router.callback, asker.id)
    assert [cc.state(c.id).position for c in (before, asker, after)] == [1, 2, 3]
    cc.at(40).ready("ana")
    assert cc.state(before.id).agent == "ana"  # the one who waited before the callback first
    cc.run(router.accept, before.id, "ana")
    cc.at(100).run(router.complete, before.id, "ana")  # support: no wrap-up
    assert cc.state(asker.id).agent == "ana"  # then the callback, ahead of `after`
    cc.run(router.accept, asker.id, "ana")
    cc.at(160).run(router.complete, asker.id, "ana", "resolved")
    assert service.flush_log(tp) == 2
    with read_connection(tp.engine) as conn:
        rows = {
            r["id"]: r
            for r in conn.execute(
                select(interactions).where(interactions.c.id.like(f"cc-{asker.id}%"))
            ).mappings()
        }
    inbound, back = rows[f"cc-{asker.id}"], rows[f"cc-{asker.id}-callback"]
    # The inbound call is neither answered nor abandoned: no agent, outcome callback_requested.
    assert (inbound["outcome"], inbound["agent"], inbound["properties"]["wait_s"]) == (
        "callback_requested",
        None,
        20.0,  # asked at 30 s, arrived at 10 s
    )
    assert (back["direction"], back["agent"], back["duration_s"]) == ("outbound", "ana", 60.0)


def test_transfer_keeps_the_place_in_line_and_wraps_the_agent_up(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana", "bo")
    sale = cc.at(1).offer(queue="sales")
    assert sale.agent == "ana"
    cc.run(router.accept, sale.id, "ana")
    newer = cc.at(2).offer(queue="support")
    assert newer.agent == "bo"
    cc.run(router.accept, newer.id, "bo")
    moved = cc.at(5).run(router.transfer, sale.id, "ana", to_queue="support")
    later = cc.at(6).offer(queue="support")
    # Joined at 1 s, it is ahead of the one that came at 6 s; ana wraps up (sales: 30 s).
    assert (moved.status, cc.state(moved.id).position, cc.state(later.id).position) == (
        "waiting",
        1,
        2,
    )
    assert cc.at(34).state(moved.id).status == "waiting"
    assert cc.at(35).state(moved.id).agent == "ana"
    cc.run(router.accept, moved.id, "ana")
    cc.at(40).run(router.complete, moved.id, "ana")  # support: no wrap-up
    assert cc.state(later.id).agent == "ana"  # then the one that came at 6 s
    cc.run(router.accept, later.id, "ana")
    cc.at(50).run(router.complete, later.id, "ana")
    email = cc.offer(queue="support", channel="email")
    assert email.agent == "ana"
    cc.run(router.accept, email.id, "ana")
    with pytest.raises(ValidationError, match="to_queue: queue sales does not take email"):
        cc.run(router.transfer, email.id, "ana", to_queue="sales")


def test_a_transfer_to_an_agent_waits_for_them_a_minute(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    call = cc.at(1).offer()
    cc.run(router.accept, call.id, "ana")
    cc.at(2).run(router.transfer, call.id, "ana", to_agent="bo")
    # bo is logged out: held for him until 62 s, though ana is ready again (support: no wrap-up)
    assert cc.at(30).state(call.id).status == "waiting"
    cc.at(40).ready("bo")
    assert cc.state(call.id).agent == "bo"


CALENDAR = """
[queues.support]
channels = ["phone"]
calendar = "office"

[calendars.office]
time_zone = "Europe/Paris"
hours.weekdays = ["09:00-12:00", "14:00-18:00"]

[agents.ana]
queues = ["support"]
"""


def test_a_closed_queue_takes_no_contact_and_calls_back_only_when_open(tp: Touchpoint) -> None:
    from datetime import UTC, datetime

    cc = Center(tp, CALENDAR)
    # Monday 2026-06-01, Paris is UTC+2: 07:00 UTC is 09:00, lunch 10:00-12:00 UTC.
    cc.now = datetime(2026, 6, 1, 6, 59, tzinfo=UTC)
    with pytest.raises(Conflict, match="queue support is closed; it opens at 2026-06-01T07:00"):
        cc.offer()
    cc.now = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    waiting = cc.offer()
    with pytest.raises(
        ValidationError,
        match="outside queue support's business hours; it next opens at 2026-06-01T12:00",
    ):
        cc.run(router.callback, waiting.id, datetime(2026, 6, 1, 11, 0, tzinfo=UTC))
    chosen = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)  # 14:30 in Paris
    cc.run(router.callback, waiting.id, chosen)
    cc.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    cc.ready("ana")
    assert cc.state(waiting.id).status == "callback"  # not before the time they chose
    cc.now = chosen
    assert (cc.state(waiting.id).status, cc.state(waiting.id).agent) == ("reserved", "ana")


def test_the_scheduler_lets_an_offer_expire_on_time(tp: Touchpoint) -> None:
    from datetime import UTC, datetime, timedelta

    from touchpoint.services import scheduler

    cc = Center(tp)
    cc.at(0).ready("ana")
    offered = cc.at(1).offer()
    assert service.next_deadline(tp) == offered.lease_until  # 11 s after T0: in the past
    scheduler.wake(tp, datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))
    with read_connection(tp.engine) as conn:
        row = conn.execute(select(cc_agents).where(cc_agents.c.id == "ana")).mappings().one()
    assert row["state"] == "not_ready"
    assert cc.state(offered.id).status == "waiting"


def test_a_completed_contact_carries_its_hold_and_wrap_up_to_the_log(tp: Touchpoint) -> None:
    cc = Center(tp)
    cc.at(0).ready("ana")
    call = cc.at(1).offer(queue="sales")  # sales wraps up 30 s
    cc.at(5).run(router.accept, call.id, "ana")
    with pytest.raises(ValidationError, match="hold_s: 100 s is not between 0 and the 95 s"):
        cc.at(100).run(router.complete, call.id, "ana", hold_s=100)
    cc.at(100).run(router.complete, call.id, "ana", "sale", hold_s=15)
    assert service.flush_log(tp) == 1
    with read_connection(tp.engine) as conn:
        row = (
            conn.execute(select(interactions).where(interactions.c.id == f"cc-{call.id}"))
            .mappings()
            .one()
        )
    # 95 s with the agent, 15 of them on hold: talk 80; then 30 s of wrap-up
    assert row["duration_s"] == 80.0
    assert (row["properties"]["hold_s"], row["properties"]["wrapup_s"]) == (15.0, 30.0)
