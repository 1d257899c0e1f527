"""The contact center over HTTP as a front end and agents' desktops drive it: configuration,
offers, agents' states, accept and complete, the live picture; an agent acts only as
themselves; and the call lands in the log as the service-level report reads it."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.api.http import bearer
from touchpoint.runtime import Touchpoint
from touchpoint.services.users import create_user
from touchpoint.store.engine import write_transaction

CONFIG = {
    "center": {"lease_s": 20},
    "queues": {"support": {"channels": ["phone", "chat"], "target": "80/20"}},
    "agents": {
        "ana": {"user": "ana", "queues": ["support"], "capacity": {"phone": 1, "chat": 3}},
        "bo": {"user": "bo", "queues": ["support"]},
    },
}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_call_from_offer_to_the_log_over_http(
    tp: Touchpoint, client: TestClient, admin_key: str, manager_key: str, read_key: str
) -> None:
    with write_transaction(tp.engine) as conn:
        create_user(conn, name="ana", role="agent", password="ana's long password")
    ana = basic("ana", "ana's long password")
    pbx = bearer(manager_key)
    assert client.put("/v1/cc/config", json=CONFIG, headers=bearer(manager_key)).status_code == 403
    applied = client.put("/v1/cc/config", json=CONFIG, headers=bearer(admin_key))
    assert applied.json() == {"version": 1, "queues": 1, "agents": 2, "rules": 0}, applied.text
    for state in ("login", "ready"):
        assert client.post(
            "/v1/cc/agents/ana/state", json={"state": state}, headers=ana
        ).json() == {
            "agent": "ana",
            "state": "not_ready" if state == "login" else "ready",
        }
    # ana may not act as bo, nor offer contacts; the front end (a manager key) offers them.
    assert (
        client.post("/v1/cc/agents/bo/state", json={"state": "login"}, headers=ana).status_code
        == 403
    )
    call = {"queue": "support", "channel": "phone", "customer": {"phone": "+1 415 555 0100"}}
    assert client.post("/v1/cc/contacts", json=call, headers=ana).status_code == 403
    offered = client.post("/v1/cc/contacts", json=call | {"external_ref": "1700.1"}, headers=pbx)
    assert offered.status_code == 201, offered.text
    body = offered.json()
    assert (body["status"], body["agent"]) == ("reserved", "ana")
    contact_id = body["id"]
    accepted = client.post(
        f"/v1/cc/contacts/{contact_id}/accept", json={"agent": "ana"}, headers=ana
    )
    assert accepted.json()["status"] == "assigned"
    live = client.get("/v1/cc/live", headers=bearer(read_key)).json()
    assert live["queues"][0]["in_progress"] == 1
    assert {a["agent"]: a["state"] for a in live["agents"]} == {"ana": "busy", "bo": "logged_out"}
    done = client.post(
        f"/v1/cc/contacts/{contact_id}/complete",
        json={"agent": "ana", "outcome": "resolved"},
        headers=ana,
    )
    assert done.json()["status"] == "completed"
    # The call is in the log, so the customer exists, with the call in their timeline.
    found = client.get("/v1/customers?phone=%2B14155550100", headers=bearer(read_key)).json()
    assert found["total"] == 1
    view = client.get(f"/v1/customers/{found['items'][0]['id']}", headers=bearer(read_key)).json()
    (row,) = view["timeline"]
    assert (row["id"], row["type"], row["agent"], row["queue"], row["outcome"]) == (
        f"cc-{contact_id}",
        "call",
        "ana",
        "support",
        "resolved",
    )


def test_bad_requests_are_clear_4xx(client: TestClient, admin_key: str, manager_key: str) -> None:
    pbx = bearer(manager_key)
    call = {"queue": "support", "channel": "phone", "customer": {"phone": "+14155550100"}}
    none_yet = client.post("/v1/cc/contacts", json=call, headers=pbx)
    assert none_yet.status_code == 409 and "no configuration yet" in none_yet.json()["detail"]
    bad = client.put(
        "/v1/cc/config", json={"queues": {"q": {"channels": ["fax"]}}}, headers=bearer(admin_key)
    )
    assert (
        bad.status_code == 422
        and "queues.q.channels: unknown channel 'fax'" in bad.json()["detail"]
    )
    client.put("/v1/cc/config", json=CONFIG, headers=bearer(admin_key))
    cases = [
        (client.post("/v1/cc/contacts", json=call | {"queue": "sales"}, headers=pbx), 422),
        (client.post("/v1/cc/contacts", json=call | {"customer": {}}, headers=pbx), 422),
        (
            client.post(
                "/v1/cc/contacts/con_0000000000000000/accept", json={"agent": "ana"}, headers=pbx
            ),
            404,
        ),
        (client.post("/v1/cc/agents/ana/state", json={"state": "lunch"}, headers=pbx), 422),
        (client.post("/v1/cc/agents/zed/state", json={"state": "ready"}, headers=pbx), 404),
    ]
    assert [r.status_code for r, _ in cases] == [c for _, c in cases], [r.text for r, _ in cases]


def test_complete_takes_the_hold_a_front_end_reports(
    tp: Touchpoint, client: TestClient, admin_key: str, manager_key: str
) -> None:
    pbx = bearer(manager_key)
    assert client.put("/v1/cc/config", json=CONFIG, headers=bearer(admin_key)).status_code == 200
    for state in ("login", "ready"):
        client.post("/v1/cc/agents/ana/state", json={"state": state}, headers=pbx)
    call = {"queue": "support", "channel": "phone", "customer": {"phone": "+1 415 555 0101"}}
    contact_id = client.post("/v1/cc/contacts", json=call, headers=pbx).json()["id"]
    client.post(f"/v1/cc/contacts/{contact_id}/accept", json={"agent": "ana"}, headers=pbx)
    path = f"/v1/cc/contacts/{contact_id}/complete"
    refused = client.post(path, json={"agent": "ana", "hold_s": -1}, headers=pbx)
    assert refused.status_code == 422 and "hold_s" in refused.text
    too_long = client.post(path, json={"agent": "ana", "hold_s": 3600}, headers=pbx)
    assert too_long.status_code == 422 and "hold_s: 3600 s is not between 0" in too_long.text
    done = client.post(path, json={"agent": "ana", "hold_s": 0}, headers=pbx)
    assert done.status_code == 200 and done.json()["status"] == "completed"
