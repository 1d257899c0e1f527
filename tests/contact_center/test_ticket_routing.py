"""Open ticket → its owner (issue 11): a contact from a customer whose open ticket an agent owns
is offered to that agent when they are ready, saying which rule did it, and goes to anyone once
the rule's wait has passed without them; a solved ticket prefers nobody. On SQLite and
PostgreSQL, the facts read by the service (services.contact_center.facts_for) and the router
driven with an explicit clock."""

from __future__ import annotations

from datetime import timedelta

from tests.contact_center.center import CONFIG, T0, Center
from touchpoint.contact_center import router
from touchpoint.domain.routing import CustomerFacts
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center as service
from touchpoint.services import tickets
from touchpoint.store.engine import read_connection

RULE = "owner of the open ticket"
OWNED = (
    CONFIG
    + f"""
[[rules]]
name = "{RULE}"
open_ticket = true
prefer_agent_s = 30
"""
)
KIM = {"email": "kim@example.com"}


def facts(tp: Touchpoint) -> tuple[str | None, CustomerFacts]:
    with read_connection(tp.engine) as conn:
        return service.facts_for(conn, KIM, default_region="US")


def kim_calls(cc: Center) -> router.Offered:
    customer_id, known = facts(cc.tp)
    return cc.run(
        router.offer,
        queue="support",
        channel="phone",
        identity=KIM,
        customer_id=customer_id,
        facts=known,
    )


def owned_by_bo(tp: Touchpoint) -> tickets.TicketView:
    return tickets.open_ticket(
        tp,
        subject="the refund has not arrived",
        queue="support",
        channel="email",
        identity=KIM,
        owner="bo",
        actor="test",
        now=T0 - timedelta(days=1),
    )


def test_facts_name_the_owner_of_the_open_ticket_only_while_it_is_open(tp: Touchpoint) -> None:
    Center(tp, OWNED)
    assert facts(tp) == (None, CustomerFacts())  # nobody knows kim yet
    ticket = owned_by_bo(tp)
    customer_id, known = facts(tp)
    assert customer_id is not None and known.ticket_owner == "bo"
    tickets.assign(tp, ticket.id, "ana", actor="test", now=T0 - timedelta(hours=20))
    assert facts(tp)[1].ticket_owner == "ana"
    tickets.set_status(tp, ticket.id, "solved", actor="test", now=T0 - timedelta(hours=10))
    assert facts(tp)[1].ticket_owner is None  # solved: not open any more


def test_a_contact_goes_to_the_ticket_owner_when_ready_and_says_which_rule(
    tp: Touchpoint,
) -> None:
    cc = Center(tp, OWNED)
    owned_by_bo(tp)
    cc.at(0).ready("ana")
    cc.at(60).ready("bo")  # ana is the longest idle, but bo owns kim's ticket
    call = kim_calls(cc.at(100))
    assert (call.status, call.agent, call.rules) == ("reserved", "bo", (RULE,))
    assert call.decision == {
        "strategy": "preferred",
        "candidates": ["ana", "bo"],
        "reason": f"the preferred agent is ready (rule: {RULE})",
    }


def test_without_the_owner_the_contact_waits_the_rules_hold_then_goes_to_anyone(
    tp: Touchpoint,
) -> None:
    cc = Center(tp, OWNED)
    owned_by_bo(tp)
    cc.at(0).ready("ana", "bo")
    cc.at(1).run(router.set_agent_state, "bo", "not_ready", "lunch")
    call = kim_calls(cc.at(100))  # held for bo for 30 s: until 130
    assert (call.status, call.agent) == ("waiting", None)
    assert call.decision is None
    assert cc.at(129).state(call.id).status == "waiting"
    later = cc.at(130).state(call.id)
    assert (later.status, later.agent) == ("reserved", "ana")
    assert later.decision == {
        "strategy": "longest-idle-agent",
        "candidates": ["ana"],
        "reason": "longest-idle-agent among 1",
    }


def test_the_owner_ready_within_the_hold_gets_the_contact(tp: Touchpoint) -> None:
    cc = Center(tp, OWNED)
    owned_by_bo(tp)
    cc.at(0).ready("ana", "bo")
    cc.at(1).run(router.set_agent_state, "bo", "not_ready", "lunch")
    call = kim_calls(cc.at(100))
    cc.at(120).run(router.set_agent_state, "bo", "ready")
    back = cc.state(call.id)
    assert (back.status, back.agent) == ("reserved", "bo")
    assert back.decision is not None
    assert back.decision["reason"] == f"the preferred agent is ready (rule: {RULE})"


def test_a_solved_ticket_prefers_nobody(tp: Touchpoint) -> None:
    cc = Center(tp, OWNED)
    ticket = owned_by_bo(tp)
    tickets.set_status(tp, ticket.id, "solved", actor="test", now=T0 - timedelta(hours=1))
    cc.at(0).ready("ana")
    cc.at(60).ready("bo")
    call = kim_calls(cc.at(100))
    assert (call.agent, call.rules) == ("ana", ())
