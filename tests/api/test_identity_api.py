"""The identity API: conflicts (read key), merge records, merging and unmerging by hand (admin
key), with their errors, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from tests.conftest import new_key
from touchpoint.runtime import Touchpoint


@pytest.fixture
def admin_key(tp: Touchpoint) -> str:
    return new_key(tp, "admin")


def family(client: TestClient, ingest_key: str) -> tuple[str, str]:
    """mum signs up, then her son with his own user id and the family email."""
    (mum,) = send(
        client, ingest_key, interaction(id="m1", external_id="mum", email="home@example.com")
    )
    (son,) = send(
        client, ingest_key, interaction(id="s1", external_id="son", email="home@example.com", at=1)
    )
    return mum["customer_id"], son["customer_id"]


def get(client: TestClient, key: str, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_blocked_merge_is_listed_as_a_conflict(
    client: TestClient, manager_key: str, read_key: str
) -> None:
    mum, son = family(client, manager_key)
    assert mum != son
    body = get(client, read_key, "/v1/identity/conflicts")
    assert body["total"] == 1
    (conflict,) = body["items"]
    assert {k: conflict[k] for k in ("customer_id", "other_id", "kind", "value", "reason")} == {
        "customer_id": son,
        "other_id": mum,
        "kind": "email",
        "value": "home@example.com",
        "reason": "limit:external_id",
    }
    assert (conflict["interaction_id"], conflict["events"], conflict["status"]) == ("s1", 1, "open")
    assert get(client, read_key, "/v1/identity/conflicts", status="merged")["total"] == 0


def test_conflicts_need_a_read_key_and_a_known_status(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    assert client.get("/v1/identity/conflicts").status_code == 401
    forbidden = client.get("/v1/identity/conflicts", headers=bearer(ingest_key))
    assert forbidden.status_code == 403
    bad = client.get("/v1/identity/conflicts?status=closed", headers=bearer(read_key))
    assert bad.status_code == 422


def test_merge_and_unmerge_by_hand(
    client: TestClient, manager_key: str, read_key: str, admin_key: str
) -> None:
    mum, son = family(client, manager_key)
    merged = client.post(
        f"/v1/customers/{son}/merge", json={"customer_id": mum}, headers=bearer(admin_key)
    )
    assert merged.status_code == 200, merged.text
    record = merged.json()
    assert (record["survivor_id"], record["merged_id"], record["cause"]) == (mum, son, "manual")
    assert (record["moved_keys"], record["undoable"]) == (["external_id:son"], True)
    view = get(client, read_key, f"/v1/customers/{son}")
    assert (view["id"], view["requested_id"]) == (mum, son)
    (shown,) = view["merged_from"]  # the view names the merge to undo
    assert (shown["customer_id"], shown["merge_id"]) == (son, record["id"])
    assert (shown["cause"], shown["linking_key"]) == ("manual", None)
    assert get(client, read_key, "/v1/identity/conflicts", status="merged")["total"] == 1

    undone = client.post(f"/v1/merges/{record['id']}/unmerge", headers=bearer(admin_key))
    assert undone.status_code == 200, undone.text
    assert {k: undone.json()[k] for k in ("merge_id", "survivor_id", "restored_id", "keys")} == {
        "merge_id": record["id"],
        "survivor_id": mum,
        "restored_id": son,
        "keys": ["external_id:son"],
    }
    assert undone.json()["interactions"] == 1
    view = get(client, read_key, f"/v1/customers/{son}")
    assert (view["id"], view["merged_from"]) == (son, [])
    assert [t["id"] for t in view["timeline"]] == ["s1"]
    assert get(client, read_key, f"/v1/customers/{mum}")["merged_from"] == []
    (listed,) = get(client, read_key, "/v1/identity/merges", customer_id=son)["items"]
    assert (listed["id"], listed["undoable"]) == (record["id"], False)
    assert listed["undone_at"] is not None


def test_merging_and_unmerging_need_an_admin_key(
    client: TestClient, manager_key: str, ingest_key: str, read_key: str
) -> None:
    mum, son = family(client, manager_key)
    for key, role in ((ingest_key, "ingest"), (read_key, "read"), (manager_key, "manager")):
        response = client.post(
            f"/v1/customers/{son}/merge", json={"customer_id": mum}, headers=bearer(key)
        )
        assert response.status_code == 403
        assert response.json() == {
            "detail": f"this key's role, {role}, may not do this (identity.change); allowed: admin"
        }
    assert client.post("/v1/merges/1/unmerge").status_code == 401


def test_bad_merges_and_unmerges_are_clear_4xx(
    client: TestClient, manager_key: str, admin_key: str
) -> None:
    mum, son = family(client, manager_key)
    headers = bearer(admin_key)
    itself = client.post(f"/v1/customers/{mum}/merge", json={"customer_id": mum}, headers=headers)
    assert itself.status_code == 422
    assert itself.json() == {"detail": f"cannot merge customer {mum} into itself"}
    unknown = client.post(
        f"/v1/customers/{mum}/merge", json={"customer_id": "cus_nobody"}, headers=headers
    )
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no customer 'cus_nobody'"})
    no_body = client.post(f"/v1/customers/{mum}/merge", json={}, headers=headers)
    assert no_body.status_code == 422
    missing = client.post("/v1/merges/999/unmerge", headers=headers)
    assert (missing.status_code, missing.json()) == (404, {"detail": "no merge 999"})
    assert client.post("/v1/merges/first/unmerge", headers=headers).status_code == 422
    record = client.post(
        f"/v1/customers/{mum}/merge", json={"customer_id": son}, headers=headers
    ).json()
    assert client.post(f"/v1/merges/{record['id']}/unmerge", headers=headers).status_code == 200
    again = client.post(f"/v1/merges/{record['id']}/unmerge", headers=headers)
    assert again.status_code == 409
    assert again.json() == {"detail": f"merge {record['id']} was already undone"}


def test_dismissing_a_conflict(
    client: TestClient, manager_key: str, read_key: str, admin_key: str
) -> None:
    family(client, manager_key)
    (conflict,) = get(client, read_key, "/v1/identity/conflicts")["items"]
    path = f"/v1/identity/conflicts/{conflict['id']}/dismiss"
    assert client.post(path, headers=bearer(read_key)).status_code == 403
    dismissed = client.post(path, headers=bearer(admin_key))
    assert (dismissed.status_code, dismissed.json()["status"]) == (200, "dismissed")
    assert get(client, read_key, "/v1/identity/conflicts")["total"] == 0
    assert get(client, read_key, "/v1/identity/conflicts", status="dismissed")["total"] == 1
    missing = client.post("/v1/identity/conflicts/999/dismiss", headers=bearer(admin_key))
    assert (missing.status_code, missing.json()) == (404, {"detail": "no identity conflict 999"})
