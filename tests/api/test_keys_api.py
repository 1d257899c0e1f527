"""API keys over the admin API: create with an expiry, list without secrets, revoke and rotate;
a revoked or expired key is refused on its next request; last use is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.api.http import bearer
from tests.conftest import new_key
from touchpoint.runtime import Touchpoint
from touchpoint.services import keys as key_service
from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import api_keys


def test_create_list_rotate_revoke(client: TestClient, tp: Touchpoint) -> None:
    admin = new_key(tp, "admin")
    soon = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = client.post(
        "/v1/keys",
        json={"scope": "read", "name": "wallboard", "expires_at": soon},
        headers=bearer(admin),
    )
    assert made.status_code == 201, made.text
    secret, key = made.json()["secret"], made.json()["key"]
    assert secret.startswith("tp_read_") and key["status"] == "active"
    assert key["created_by"].startswith("key_") and key["name"] == "wallboard"
    assert client.get("/v1/customers", headers=bearer(secret)).status_code == 200

    listed = client.get("/v1/keys", headers=bearer(admin)).json()
    mine = next(k for k in listed if k["id"] == key["id"])
    assert "secret" not in mine and "key_hash" not in mine
    assert mine["last_used_at"] is not None  # the read above was recorded

    rotated = client.post(f"/v1/keys/{key['id']}/rotate", headers=bearer(admin))
    assert rotated.status_code == 201, rotated.text
    fresh, new = rotated.json()["secret"], rotated.json()["key"]
    assert (new["scope"], new["name"]) == ("read", "wallboard")
    assert new["expires_at"] == mine["expires_at"]  # the same lifetime, not a new one
    assert client.get("/v1/customers", headers=bearer(secret)).status_code == 401
    assert client.get("/v1/customers", headers=bearer(fresh)).status_code == 200
    old = next(
        k
        for k in client.get("/v1/keys?include_revoked=true", headers=bearer(admin)).json()
        if k["id"] == key["id"]
    )
    assert (old["status"], old["replaced_by"]) == ("revoked", new["id"])
    assert key["id"] not in {k["id"] for k in client.get("/v1/keys", headers=bearer(admin)).json()}

    revoked = client.post(f"/v1/keys/{new['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.get("/v1/customers", headers=bearer(fresh)).status_code == 401
    again = client.post(f"/v1/keys/{new['id']}/revoke", headers=bearer(admin))
    assert again.status_code == 409
    assert client.post("/v1/keys/key_000000000000/revoke", headers=bearer(admin)).status_code == 404


def test_an_expired_key_is_refused_and_listed_as_expired(
    client: TestClient, tp: Touchpoint
) -> None:
    admin = new_key(tp, "admin")
    with write_transaction(tp.engine) as conn:
        key, secret = key_service.create_key(
            conn, scope="read", expires_at=datetime.now(UTC) + timedelta(hours=1)
        )
    assert client.get("/v1/customers", headers=bearer(secret)).status_code == 200
    with write_transaction(tp.engine) as conn:  # an hour later
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    refused = client.get("/v1/customers", headers=bearer(secret))
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=bearer(admin)).json()}
    assert listed[key.id]["status"] == "expired"
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    made = client.post(
        "/v1/keys", json={"scope": "read", "expires_at": past}, headers=bearer(admin)
    )
    assert made.status_code == 422 and "already passed" in made.text


def test_only_an_admin_key_manages_keys(client: TestClient, tp: Touchpoint) -> None:
    read = new_key(tp, "read")
    assert client.get("/v1/keys", headers=bearer(read)).status_code == 403
    assert client.post("/v1/keys", json={"scope": "admin"}, headers=bearer(read)).status_code == 403
    assert client.get("/v1/keys").status_code == 401
