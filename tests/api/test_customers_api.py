"""GET /v1/customers: find by any identity; customer 360 with identities and a paginated timeline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction


def test_find_by_email_phone_external_and_anonymous_id(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    send(
        client,
        ingest_key,
        interaction(anonymous_id="ck-9", at=0),
        interaction(
            anonymous_id="ck-9", email="Fay@Example.com", external_id="u-9", type="signup", at=1
        ),
        interaction(
            phone="415-555-0111", email="fay@example.com", type="call", channel="phone", at=2
        ),
        interaction(email="other@example.com", at=3),
    )
    found = set()
    for query in (
        "email=FAY@example.com",
        "phone=%2B14155550111",
        "external_id=u-9",
        "anonymous_id=ck-9",
    ):
        body = client.get(f"/v1/customers?{query}", headers=bearer(read_key)).json()
        assert body["total"] == 1, query
        found.add(body["items"][0]["id"])
    assert len(found) == 1
    everyone = client.get("/v1/customers", headers=bearer(read_key)).json()
    assert everyone["total"] == 2
    nobody = client.get("/v1/customers?email=nobody@example.com", headers=bearer(read_key)).json()
    assert nobody == {"total": 0, "items": []}


def test_customer_view_shows_identities_and_timeline_newest_first_in_pages(
    client: TestClient, manager_key: str, read_key: str
) -> None:
    items = [interaction(email="gil@example.com", at=minute) for minute in range(7)]
    items.append(
        interaction(email="gil@example.com", type="purchase", revenue=20.0, currency="USD", at=-5)
    )
    customer_id = send(client, manager_key, *items)[0]["customer_id"]
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/v1/customers/{customer_id}?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=bearer(read_key)).json()
        seen += [row["occurred_at"] for row in page["timeline"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 8
    assert seen == sorted(seen, reverse=True)
    assert page["interaction_count"] == 8 and page["revenue"] == 20.0
    assert page["identities"][0] == {
        "kind": "email",
        "value": "gil@example.com",
        "first_seen_at": "2026-01-01T11:55:00Z",
    }


def test_merged_away_id_answers_with_the_surviving_customer(
    client: TestClient, manager_key: str, read_key: str
) -> None:
    first = send(client, manager_key, interaction(email="hal@example.com", at=0))[0]["customer_id"]
    second = send(client, manager_key, interaction(phone="+14155550177", at=1))[0]["customer_id"]
    send(client, manager_key, interaction(email="hal@example.com", phone="+14155550177", at=2))
    view = client.get(f"/v1/customers/{second}", headers=bearer(read_key)).json()
    assert view["id"] == first and view["requested_id"] == second
    assert view["merged_from"][0]["customer_id"] == second
    assert {i["kind"] for i in view["identities"]} == {"email", "phone"}
    assert view["interaction_count"] == 3


def test_unknown_customer_is_404_and_ingest_key_cannot_read(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    assert client.get("/v1/customers/cus_nope", headers=bearer(read_key)).status_code == 404
    assert client.get("/v1/customers", headers=bearer(ingest_key)).status_code == 403
    assert client.get("/v1/customers?phone=abc", headers=bearer(read_key)).status_code == 422
