"""The `contact-center` report's handle time in parts, CSAT, occupancy and SLA attainment, every
figure worked out by hand below, on DuckDB (the columnar copy), SQLite and PostgreSQL alike.

A hand-built March log (support's target 90/30, as in test_kpis):

  who queue   wait agent talk hold wrap-up   AHT = talk + hold + wrap-up
  p   support   5  ana   200   30    20      250
  q   support   8  ana   100    -    10      110 (no hold reported: counts as 0)
  r   support   3  bo     90    -     -       90 (imported: its talk includes any hold)
  support: AHT (250 + 110 + 90) / 3 = 150; talk 390 / 3 = 130, hold 30 / 3 = 10, wrap-up 30 / 3
  = 10; hold recorded for 1, wrap-up for 2.

  CSAT answers: 5 naming ticket T1, whose last handled interaction before it is bo's support
  email reply; 3 naming agent ana and queue support (no ticket); 1 naming neither.
  Per agent: bo 5, ana 3, (none) 1; per queue: support (5 + 3) / 2 = 4, (none) 1.

A day on the router and the tickets (June 1st, from 09:00 = 0 s), center.py's configuration
(sales wraps up 30 s, support 0 s; ana on team sales, bo on retention):

  0     ana and bo log in and go ready
  62    a sales call, offered to ana (longest idle, first in the configuration), accepted at 70
  100   a support chat to bo (ana has no room beside a call), accepted at 105
  110   another support chat to bo, accepted at 115
  205   bo ends the first chat; 305 the second (no wrap-up in support)
  370   ana ends the call, on hold 40 s of it: talk 300 - 40 = 260, wrap-up 30 s until 400
  600   ana not ready (a break) until 900; 1200 both log out
  ana: logged in 0-1200 = 1200 s; busy 70-370 (the call) + 370-400 (wrap-up) = 330 s:
       occupancy 330 / 1200 = 0.275; AHT 260 + 40 + 30 = 330
  bo:  logged in 1200 s; busy 105-305 (one chat or two: counted once) = 200 s: 1/6; AHT
       (100 + 190) / 2 = 145
  total: 530 / 2400

  Tickets in support (first response 1h, next response 30 min, resolution 1d), opened at 09:00:
  T1 (owner ana): replies at +10 min (first response met; next response cycle 1 due +40) and +50
     (cycle 1 breached at +40; cycle 2 due +80), solved at +60 (resolution met, cycle 2 met)
  T2 (owner bo): first reply at +70 (first response breached at +60); next response cycle 1
     and resolution still running: undecided
  support: first response 1 / 2, next response 1 / 2, resolution 1 / 1;
  ana: 1, 1 / 2, 1; bo: 0, None, None.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.analytics.conftest import Lab, day
from tests.analytics.conftest import lab as lab  # noqa: F401 (the three-engine fixture)
from tests.builders import interaction
from tests.contact_center.center import CONFIG as CENTER_CONFIG
from tests.contact_center.center import T0, Center
from tests.contact_center.test_kpis import CONFIG, MARCH, contact
from touchpoint.contact_center import router
from touchpoint.services import contact_center as service
from touchpoint.services import tickets
from touchpoint.services.contact_center import apply_config


def survey(score: float, at: datetime, **fields: Any) -> dict[str, Any]:
    ticket = fields.pop("ticket", None)
    return interaction(
        type="survey_response",
        channel="email",
        direction="inbound",
        at=at,
        external_id=fields.pop("who", "p"),
        properties={"csat": score, **({"ticket_id": ticket} if ticket else {})},
        **fields,
    )


LOG = [
    contact("p", "support", 5, agent="ana", talk=200, hold_s=30, wrapup_s=20),
    contact("q", "support", 8, agent="ana", talk=100, wrapup_s=10),
    contact("r", "support", 3, agent="bo", talk=90),
    interaction(
        type="email_sent",
        channel="email",
        direction="outbound",
        at=day(3, 2, 14),
        external_id="r",
        agent="bo",
        queue="support",
        properties={"ticket_id": "T1"},
    ),
    survey(5, day(3, 4), who="r", ticket="T1"),
    survey(3, day(3, 5), who="q", agent="ana", queue="support"),
    survey(1, day(3, 6), who="p"),
]


def rows(lab: Lab, **request: Any) -> dict[str, dict[str, Any]]:
    found = lab.rows("contact-center", **request)
    column = request.get("by") or "queue"
    return {r[column]: r for r in found}


def test_handle_time_in_its_parts_and_csat(lab: Lab) -> None:  # noqa: F811
    apply_config(lab.tp, text=CONFIG, actor="test")
    lab.ingest(LOG)
    queues = rows(lab, **MARCH)
    support = queues["support"]
    assert support["aht_s"] == pytest.approx(150)
    assert (support["talk_s"], support["hold_s"], support["wrapup_s"]) == (
        pytest.approx(130),
        pytest.approx(10),
        pytest.approx(10),
    )
    assert (support["hold_recorded"], support["wrapup_recorded"]) == (1, 2)
    assert (support["csat"], support["csat_answers"]) == (pytest.approx(4), 2)
    assert (queues["(none)"]["csat"], queues["(none)"]["offered"]) == (1, 0)
    assert queues["(total)"]["csat"] == pytest.approx(3)  # (5 + 3 + 1) / 3
    agents = rows(lab, by="agent", **MARCH)
    assert {a: (r["csat"], r["csat_answers"]) for a, r in agents.items()} == {
        "ana": (3, 1),
        "bo": (5, 1),
        "(none)": (1, 1),
        "(total)": (3, 3),
    }
    assert agents["ana"]["aht_s"] == pytest.approx(180)  # (250 + 110) / 2
    assert support["occupancy"] is None and support["sla_first_response"] is None


def test_a_csat_answer_naming_a_routed_contact_goes_to_its_agent_queue_and_channel(
    lab: Lab,  # noqa: F811
) -> None:
    """A survey sent after a contact names the router's contact id (its interaction in the log
    is `cc-<id>`) and no agent nor queue: it is credited to bo, sales and chat, the contact's;
    one naming a contact the log does not hold stays with what it names itself (nothing)."""
    apply_config(lab.tp, text=CONFIG, actor="test")

    def answer(score: float, contact_id: str, hour: int) -> dict[str, Any]:
        return interaction(
            type="survey_response",
            channel="email",
            direction="inbound",
            at=day(3, hour),
            external_id="s",
            properties={"csat": score, "contact_id": contact_id},
        )

    lab.ingest(
        [
            contact("s", "sales", 4, agent="bo", talk=60, channel="chat"),
            answer(2, "s", 5),
            answer(4, "not-a-contact", 6),
        ]
    )
    queues = rows(lab, **MARCH)
    assert (queues["sales"]["csat"], queues["sales"]["csat_answers"]) == (2, 1)
    assert (queues["(none)"]["csat"], queues["(none)"]["csat_answers"]) == (4, 1)
    agents = rows(lab, by="agent", **MARCH)
    assert (agents["bo"]["csat"], agents["bo"]["csat_answers"]) == (2, 1)
    channels = rows(lab, by="channel", **MARCH)
    assert (channels["chat"]["csat"], channels["chat"]["csat_answers"]) == (2, 1)
    assert (channels["email"]["csat"], channels["email"]["csat_answers"]) == (4, 1)


def a_day_on_the_router(lab: Lab) -> None:
    sla = """
[[sla]]
queue = "support"
first_response = "1h"
next_response = "30m"
resolution = "1d"

[[sla]]
queue = "sales"
first_response = "1h"
resolution = "1d"
"""
    cc = Center(lab.tp, CENTER_CONFIG + sla)
    cc.at(0).ready("ana", "bo")
    call = cc.at(62).offer(queue="sales")
    cc.at(70).run(router.accept, call.id, "ana")  # within its 10 s lease
    chat1 = cc.at(100).offer(queue="support", channel="chat")
    cc.at(105).run(router.accept, chat1.id, "bo")
    chat2 = cc.at(110).offer(queue="support", channel="chat")
    cc.at(115).run(router.accept, chat2.id, "bo")
    assert (call.agent, chat1.agent, chat2.agent) == ("ana", "bo", "bo")
    cc.at(205).run(router.complete, chat1.id, "bo", "resolved")
    cc.at(305).run(router.complete, chat2.id, "bo", "resolved")
    cc.at(370).run(router.complete, call.id, "ana", "sale", hold_s=40)
    cc.at(600).run(router.set_agent_state, "ana", "not_ready", "break")
    cc.at(900).run(router.set_agent_state, "ana", "ready")
    cc.at(1200).run(router.set_agent_state, "ana", "logout")
    cc.run(router.set_agent_state, "bo", "logout")
    service.flush_log(lab.tp)

    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    def opened(owner: str, who: str) -> str:
        return tickets.open_ticket(
            lab.tp,
            subject="where is my order",
            queue="support",
            channel="email",
            identity={"email": f"{who}@example.com"},
            owner=owner,
            actor="test",
            now=at(0),
        ).id

    t1, t2 = opened("ana", "kim"), opened("bo", "lee")
    tickets.reply(lab.tp, t1, agent="ana", actor="test", now=at(10))
    tickets.reply(lab.tp, t1, agent="ana", actor="test", now=at(50))
    tickets.set_status(lab.tp, t1, "solved", actor="test", now=at(60))
    tickets.reply(lab.tp, t2, agent="bo", actor="test", now=at(70))


JUNE_1 = {"start": "2026-06-01", "end": "2026-06-02", "at": datetime(2026, 6, 3, tzinfo=UTC)}


def test_occupancy_handle_time_and_sla_attainment_from_the_router_and_tickets(
    lab: Lab,  # noqa: F811
) -> None:
    a_day_on_the_router(lab)
    agents = rows(lab, by="agent", **JUNE_1)
    ana, bo = agents["ana"], agents["bo"]
    assert (ana["logged_in_s"], ana["busy_s"]) == (1200, 330)
    assert ana["occupancy"] == pytest.approx(0.275)
    assert (ana["aht_s"], ana["talk_s"], ana["hold_s"], ana["wrapup_s"]) == (330, 260, 40, 30)
    assert (bo["logged_in_s"], bo["busy_s"], bo["occupancy"]) == (1200, 200, pytest.approx(1 / 6))
    assert bo["aht_s"] == pytest.approx(145)
    assert agents["(total)"]["occupancy"] == pytest.approx(530 / 2400)
    assert (ana["sla_first_response"], ana["sla_next_response"], ana["sla_resolution"]) == (
        1.0,
        0.5,
        1.0,
    )
    assert (bo["sla_first_response"], bo["sla_next_response"], bo["sla_resolution"]) == (
        0.0,
        None,
        None,
    )
    teams = rows(lab, by="team", **JUNE_1)
    assert teams["sales"]["occupancy"] == pytest.approx(0.275)
    assert teams["retention"]["occupancy"] == pytest.approx(1 / 6)
    support = rows(lab, **JUNE_1)["support"]
    assert (
        support["sla_first_response"],
        support["sla_next_response"],
        support["sla_resolution"],
    ) == (0.5, 0.5, 1.0)
    assert support["occupancy"] is None  # agents serve several queues: per agent and team only
    # Half the day: the period's end cuts the agents' time (ana 0-600 busy 330, bo 0-600 200).
    morning = rows(
        lab, by="agent", start="2026-06-01T09:00:00Z", end="2026-06-01T09:10:00Z", at=JUNE_1["at"]
    )
    assert (morning["ana"]["logged_in_s"], morning["ana"]["busy_s"]) == (600, 330)
    assert (morning["bo"]["logged_in_s"], morning["bo"]["busy_s"]) == (600, 200)
