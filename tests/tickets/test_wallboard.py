"""SLA breaches on the wallboard (issue 11): per queue, the open tickets breached now and the
breaches today, as the scheduler fired them; in GET /v1/cc/live and the stream's picture."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.tickets.desk import T0, Desk
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center, scheduler, tickets


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


MIDNIGHT = T0.replace(hour=0)


def test_breaches_per_queue_open_now_and_today(tp: Touchpoint) -> None:
    desk = Desk(tp)  # sales, 24/7: first response 1h; support on Paris office hours, 4h
    late = desk.open(at(0))
    quick = desk.open(at(0))
    desk.open(at(0), queue="support")
    tickets.reply(tp, quick.id, agent="ana", actor="test", now=at(10))
    tickets.set_status(tp, quick.id, "solved", actor="test", now=at(20))
    nothing = {"support": {"open": 0, "today": 0}, "sales": {"open": 0, "today": 0}}
    scheduler.wake(tp, at(59), at(120))
    assert tickets.sla_breaches(tp, MIDNIGHT) == nothing
    scheduler.wake(tp, at(60) + timedelta(seconds=1), at(120))  # late's first response: 10:00
    breached = {"support": {"open": 0, "today": 0}, "sales": {"open": 1, "today": 1}}
    assert tickets.sla_breaches(tp, MIDNIGHT) == breached
    # The breach happened today whatever becomes of the ticket; solved, it is no longer open.
    tickets.reply(tp, late.id, agent="ana", actor="test", now=at(70))
    tickets.set_status(tp, late.id, "solved", actor="test", now=at(80))
    assert tickets.sla_breaches(tp, MIDNIGHT)["sales"] == {"open": 0, "today": 1}
    assert tickets.sla_breaches(tp, at(61))["sales"] == {"open": 0, "today": 0}  # before since


def test_the_live_picture_shows_the_breaches(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    desk = Desk(tp)
    desk.open(at(0))
    scheduler.wake(tp, at(61), at(120))
    picture = contact_center.wallboard(tp)
    assert picture["sla_breaches"]["sales"]["open"] == 1
    assert picture["sla_breaches"]["support"] == {"open": 0, "today": 0}
    live = client.get("/v1/cc/live", headers=bearer(read_key))
    assert live.status_code == 200
    body = live.json()
    assert body["sla_breaches"]["sales"]["open"] == 1
    assert {q["queue"] for q in body["queues"]} == {"support", "sales"}
    assert "today" in body["queues"][0] and body["seq"] >= 0
