"""Tickets over HTTP on SQLite and PostgreSQL: opening, reading the clocks, an agent replying
only as themselves, status moves, listing with filters, the FCR summary, and bad requests as
clear 4xx naming the field."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.tickets.desk import Desk
from touchpoint.runtime import Touchpoint
from touchpoint.services.users import create_user
from touchpoint.store.engine import write_transaction

NEW = {
    "subject": "The parcel never came",
    "queue": "sales",
    "channel": "email",
    "customer": {"email": "ann@example.com"},
    "priority": "high",
}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_ticket_over_http_from_opening_to_solved(
    tp: Touchpoint, client: TestClient, manager_key: str, read_key: str
) -> None:
    Desk(tp)
    manager = bearer(manager_key)
    opened = client.post("/v1/tickets", json=NEW, headers=manager)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    clocks = {c["name"]: c for c in ticket["clocks"]}
    assert (ticket["status"], clocks["first_response"]["state"]) == ("new", "running")
    assert (
        clocks["first_response"]["target_s"] == 3600 and clocks["resolution"]["target_s"] == 86_400
    )
    assert ticket["customer_id"].startswith("cus_")
    url = f"/v1/tickets/{ticket['id']}"
    # An agent replies only as their own agent.
    with write_transaction(tp.engine) as conn:
        create_user(conn, name="ana", role="agent", password="a long enough secret")
    ana = basic("ana", "a long enough secret")
    refused = client.post(f"{url}/reply", json={"agent": "bo"}, headers=ana)
    assert refused.status_code == 403, refused.text
    replied = client.post(f"{url}/reply", json={"agent": "ana", "status": "pending"}, headers=ana)
    assert replied.status_code == 200, replied.text
    states = {c["name"]: c["state"] for c in replied.json()["clocks"]}
    assert states == {"first_response": "met", "next_response": "paused", "resolution": "paused"}
    solved = client.post(f"{url}/status", json={"status": "solved"}, headers=manager)
    assert solved.json()["status"] == "solved"
    # A read key reads; it cannot change anything.
    listed = client.get("/v1/tickets?status=solved&queue=sales", headers=bearer(read_key))
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]
    assert client.get("/v1/tickets?breached=true", headers=bearer(read_key)).json()["total"] == 0
    assert (
        client.post(f"{url}/status", json={"status": "open"}, headers=bearer(read_key)).status_code
        == 403
    )
    shown = client.get(url, headers=bearer(read_key)).json()
    assert shown["interactions"][:2] == [
        f"tkt-{ticket['id']}-opened",
        f"tkt-{ticket['id']}-reply-1",
    ]
    fcr = client.get("/v1/tickets/fcr?from=2020-01-01&to=2100-01-01", headers=bearer(read_key))
    assert fcr.json() | {"window_s": 0} == {
        "solved": 1,
        "resolved_first_contact": 0,
        "not_resolved_first_contact": 0,
        "undecided": 1,
        "window_s": 0,
        "rate": None,
    }
    # The customer's timeline has the ticket opened, the reply and the solve.
    timeline = client.get(f"/v1/customers/{ticket['customer_id']}", headers=manager).json()
    assert {"ticket_opened", "email_sent", "ticket_resolved"} <= {
        i["type"] for i in timeline["timeline"]
    }


def test_bad_requests_get_a_clear_4xx_naming_the_field(
    tp: Touchpoint, client: TestClient, manager_key: str
) -> None:
    manager = bearer(manager_key)
    no_config = client.post("/v1/tickets", json=NEW, headers=manager)
    assert no_config.status_code == 409 and "cc config apply" in no_config.json()["detail"]
    Desk(tp)
    cases = {
        "queue": NEW | {"queue": "billing"},
        "priority": NEW | {"priority": "asap"},
        "owner": NEW | {"owner": "zed"},
        "channel": NEW | {"channel": "pigeon"},
    }
    for field, body in cases.items():
        answer = client.post("/v1/tickets", json=body, headers=manager)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.json()["detail"].startswith(f"{field}: "), answer.text
    shape = client.post("/v1/tickets", json=NEW | {"customer": {}}, headers=manager)
    assert shape.status_code == 422 and shape.json()["detail"][0]["loc"][-1] == "customer"
    ticket = client.post("/v1/tickets", json=NEW, headers=manager).json()
    url = f"/v1/tickets/{ticket['id']}"
    unknown = client.post(f"{url}/status", json={"status": "done"}, headers=manager)
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("status: ")
    back = client.post(f"{url}/status", json={"status": "new"}, headers=manager)
    assert back.status_code == 409 and back.json()["detail"].startswith("status: ")
    missing = client.get("/v1/tickets/tkt_0000000000000000", headers=manager)
    assert missing.status_code == 404
    window = client.get(
        "/v1/tickets/fcr?from=2026-01-01&to=2026-02-01&window=week", headers=manager
    )
    assert window.status_code == 422 and window.json()["detail"].startswith("window: ")
    moment = client.get("/v1/tickets/fcr?from=yesterday&to=2026-02-01", headers=manager)
    assert moment.status_code == 422 and moment.json()["detail"].startswith("from: ")
