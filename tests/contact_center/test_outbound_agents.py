"""An outbound call occupies its agent in the router, on SQLite and PostgreSQL: while an agent
holds a preview call (or a progressive one put through to them) no inbound contact is offered
to them; once the call's outcome is recorded they wrap up as after any contact, then take the
line again — and the trail counts the call as busy time (occupancy)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.contact_center.test_outbound import ANN, BEN, NOW, csv_campaign, granted, ready
from tests.contact_center.test_outbound import center as center  # noqa: F401 (fixture)
from touchpoint.contact_center import router
from touchpoint.domain import contact_center as cc
from touchpoint.domain.routing import CustomerFacts
from touchpoint.runtime import Touchpoint
from touchpoint.services import outbound as service
from touchpoint.services.contact_center import current_config
from touchpoint.store import contact_center as center_store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_contacts, cc_events

WRAPUP_S = 30  # the sales queue's, tests/contact_center/center.py


def inbound_at(tp: Touchpoint, when: datetime, phone: str = "+12125550199") -> router.Offered:
    """A caller joins the sales line at `when` (the router on the test's clock)."""
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        return router.offer(
            conn,
            config,
            when,
            queue="sales",
            channel="phone",
            identity={"phone": phone},
            customer_id=None,
            facts=CustomerFacts(),
        )


def settled_at(tp: Touchpoint, when: datetime, contact_id: str) -> router.Offered:
    """What time did by `when` (wrap-ups ended), dispatch, then the contact as it is."""
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        router.settle(conn, config, when)
        router.dispatch(conn, config, when)
        return router.describe(conn, config, contact_id, when)


def test_an_agent_on_a_preview_call_gets_no_inbound_offer_until_its_outcome(
    center: Touchpoint,
) -> None:
    tp = center
    granted(tp, ANN)
    campaign = csv_campaign(tp, ANN)
    ready(tp, "ana")  # bo is logged out: ana is the only one who could take the line
    call = service.next_calls(tp, campaign, agent="ana", now=NOW).calls[0]
    waiting = inbound_at(tp, NOW + timedelta(seconds=5))
    assert (waiting.status, waiting.agent) == ("waiting", None)
    service.record_outcome(
        tp, call.attempt_id, disposition="SALE", agent="ana", now=NOW + timedelta(seconds=65)
    )
    # in wrap-up for the queue's 30 s after the call, as after an inbound one
    still = settled_at(tp, NOW + timedelta(seconds=65 + WRAPUP_S - 1), waiting.id)
    assert still.status == "waiting"
    offered = settled_at(tp, NOW + timedelta(seconds=65 + WRAPUP_S), waiting.id)
    assert (offered.status, offered.agent) == ("reserved", "ana")
    with read_connection(tp.engine) as conn:
        (outbound,) = conn.execute(
            select(cc_contacts).where(cc_contacts.c.external_ref.like("outbound:%"))
        ).mappings()
        steps = center_store.agent_steps(
            conn, cc.CONTACT_TAKEN + cc.CONTACT_LEFT, None, NOW + timedelta(days=1)
        )
    # the call is the dialer's interaction (ob-<attempt>), never a cc- one of its own
    assert (outbound["status"], outbound["outcome"]) == ("completed", "sale")
    assert outbound["logged_at"] is not None
    assert [(s["kind"], s["contact_id"]) for s in steps][:2] == [
        ("accepted", outbound["id"]),
        ("completed", outbound["id"]),
    ]


def test_a_progressive_call_put_through_to_an_agent_holds_them_and_not_the_other(
    center: Touchpoint,
) -> None:
    tp = center
    granted(tp, ANN, BEN)
    campaign = csv_campaign(tp, ANN, BEN, pacing="progressive")
    ready(tp, "ana", "bo")
    first, second = service.next_calls(tp, campaign, now=NOW).calls
    put = service.connect_call(tp, first.attempt_id, "ana", now=NOW + timedelta(seconds=3))
    assert put.agent == "ana"
    again = service.connect_call(tp, first.attempt_id, "ana", now=NOW + timedelta(seconds=4))
    assert again == put  # put through again: the same call, the same contact
    inbound = inbound_at(tp, NOW + timedelta(seconds=5))
    assert (inbound.status, inbound.agent) == ("reserved", "bo")
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        router.accept(conn, config, NOW + timedelta(seconds=6), inbound.id, "bo")
    service.record_outcome(tp, second.attempt_id, disposition="NA", now=NOW + timedelta(seconds=9))
    service.record_outcome(
        tp, first.attempt_id, disposition="NI", agent="ana", now=NOW + timedelta(seconds=40)
    )
    later = inbound_at(tp, NOW + timedelta(seconds=40 + WRAPUP_S), phone="+12125550198")
    assert (later.status, later.agent) == ("reserved", "ana")
    query = select(cc_events.c.kind).where(cc_events.c.agent_id == "ana").order_by(cc_events.c.seq)
    with read_connection(tp.engine) as conn:
        kinds = list(conn.execute(query).scalars())
    # on the call, into wrap-up as it ends (as complete() writes them), ready, offered the next
    assert kinds[-5:] == ["accepted", "wrap_up", "completed", "ready", "reserved"]
