"""Browser keys over the admin API (issue 16): created with their origins, listed with them,
rotated keeping them, audited; origins are refused on any other key and a browser key needs
some."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.http import bearer
from touchpoint.runtime import Touchpoint
from touchpoint.services.audit import entries
from touchpoint.store.engine import read_connection


def test_a_browser_key_is_made_listed_and_rotated_with_its_origins(
    client: TestClient, tp: Touchpoint, admin_key: str
) -> None:
    made = client.post(
        "/v1/keys",
        json={
            "scope": "browser",
            "name": "shop",
            "origins": [
                "https://Shop.example.com/",
                "https://*.example.com",
                "https://shop.example.com",
            ],
        },
        headers=bearer(admin_key),
    )
    assert made.status_code == 201, made.text
    key, secret = made.json()["key"], made.json()["secret"]
    assert secret.startswith("tp_browser_")
    assert key["origins"] == ["https://shop.example.com", "https://*.example.com"]
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=bearer(admin_key)).json()}
    assert listed[key["id"]]["origins"] == key["origins"]
    assert listed[next(i for i in listed if i != key["id"])]["origins"] is None  # the admin key
    rotated = client.post(f"/v1/keys/{key['id']}/rotate", headers=bearer(admin_key)).json()
    assert rotated["key"]["origins"] == key["origins"] and rotated["key"]["scope"] == "browser"
    with read_connection(tp.engine) as conn:
        (created,) = [e for e in entries(conn, action="key.create")[1] if e.subject == key["id"]]
    assert created.detail["origins"] == key["origins"]


def test_origins_are_for_browser_keys_only_and_a_browser_key_needs_them(
    client: TestClient, admin_key: str
) -> None:
    cases = [
        ({"scope": "browser"}, "origins: a browser key needs the web origins"),
        ({"scope": "browser", "origins": []}, "origins: a browser key needs the web origins"),
        (
            {"scope": "ingest", "origins": ["https://shop.example.com"]},
            "origins: only a browser key takes origins (this key's scope is ingest)",
        ),
        (
            {"scope": "browser", "origins": ["https://shop.example.com/checkout"]},
            "origins: 'https://shop.example.com/checkout' is not an origin",
        ),
    ]
    for body, detail in cases:
        answer = client.post("/v1/keys", json=body, headers=bearer(admin_key))
        assert answer.status_code == 422, body
        assert answer.json()["detail"].startswith(detail), answer.json()
