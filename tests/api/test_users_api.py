"""Users over the API (admin): create, list, change a role, set a password, disable — and what a
user then does is in the audit trail under their name."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.builders import interaction


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_an_admin_manages_users_over_the_api(
    client: TestClient, admin_key: str, manager_key: str
) -> None:
    admin = bearer(admin_key)
    made = client.post("/v1/users", json={"name": "Zoe", "role": "agent"}, headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["user"]["name"], body["user"]["role"], body["user"]["status"]) == (
        "zoe",
        "agent",
        "active",
    )
    password = body["password"]
    assert len(password) >= 12
    zoe = basic("zoe", password)
    sent = client.post("/v1/interactions", json=interaction(email="c@example.com"), headers=zoe)
    assert sent.status_code == 201, sent.text
    customer = sent.json()["customer_id"]  # an agent may see whom she recorded it for
    assert client.get(f"/v1/customers/{customer}", headers=zoe).status_code == 200
    assert client.get("/v1/users", headers=zoe).status_code == 403
    assert client.get("/v1/users", headers=bearer(manager_key)).status_code == 403
    # Role and password changes take effect on the next request.
    assert (
        client.post("/v1/users/zoe/role", json={"role": "analyst"}, headers=admin).json()["role"]
        == "analyst"
    )
    assert client.get(f"/v1/customers/{customer}", headers=zoe).status_code == 403
    reset = client.post("/v1/users/zoe/password", json={"password": "x" * 12}, headers=admin)
    assert reset.status_code == 200 and reset.json()["password"] == "x" * 12
    assert client.get("/v1/lifecycle/summary", headers=zoe).status_code == 401
    assert client.get("/v1/lifecycle/summary", headers=basic("zoe", "x" * 12)).status_code == 200
    listed = client.get("/v1/users", headers=admin).json()
    assert [(u["name"], u["role"]) for u in listed] == [("zoe", "analyst")]
    assert listed[0]["last_login_at"] is not None
    assert client.post("/v1/users/zoe/disable", headers=admin).json()["status"] == "disabled"
    assert client.get("/v1/lifecycle/summary", headers=basic("zoe", "x" * 12)).status_code == 401
    assert client.get("/v1/users", headers=admin).json() == []
    assert len(client.get("/v1/users?include_disabled=true", headers=admin).json()) == 1
    # The trail: the admin key made and changed her; her own view is hers.
    trail = client.get("/v1/audit?limit=50", headers=admin).json()["items"]
    actions = [(e["actor"], e["action"]) for e in reversed(trail)]
    assert ("user:zoe", "customer.view") in actions
    user_changes = [a for a in actions if a[1].startswith("user.")]
    assert [a for _, a in user_changes] == [
        "user.create",
        "user.role",
        "user.password",
        "user.disable",
    ]
    (admin_id,) = [
        k["id"] for k in client.get("/v1/keys", headers=admin).json() if k["scope"] == "admin"
    ]
    assert {actor for actor, _ in user_changes} == {admin_id}


def test_user_mistakes_are_clear_4xx(client: TestClient, admin_key: str) -> None:
    admin = bearer(admin_key)
    client.post("/v1/users", json={"name": "kim", "role": "agent"}, headers=admin)
    cases = [
        (client.post("/v1/users", json={"name": "kim", "role": "agent"}, headers=admin), 409),
        (client.post("/v1/users", json={"name": "lee", "role": "boss"}, headers=admin), 422),
        (client.post("/v1/users", json={"name": "a b", "role": "agent"}, headers=admin), 422),
        (
            client.post(
                "/v1/users",
                json={"name": "lee", "role": "agent", "password": "short"},
                headers=admin,
            ),
            422,
        ),
        (client.post("/v1/users/nobody/disable", headers=admin), 404),
        (client.post("/v1/users/kim/role", json={"role": "root"}, headers=admin), 422),
    ]
    assert [(r.status_code) for r, _ in cases] == [code for _, code in cases], [
        r.text for r, _ in cases
    ]
