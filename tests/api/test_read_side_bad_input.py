"""Read endpoints answer out-of-range paging and malformed cursors with a 422 naming the
problem, never a 500 (issue 9's read-side defects)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction


@pytest.fixture
def customer_id(client: TestClient, ingest_key: str, read_key: str) -> str:
    send(client, ingest_key, interaction(email="ro@example.com", at=0))
    body = client.get("/v1/customers?email=ro@example.com", headers=bearer(read_key)).json()
    return str(body["items"][0]["id"])


@pytest.mark.parametrize(
    "query", ["offset=18446744073709551616", "offset=-1", "limit=0", "limit=18446744073709551616"]
)
def test_paging_out_of_range_is_422(client: TestClient, read_key: str, query: str) -> None:
    answer = client.get(f"/v1/customers?{query}", headers=bearer(read_key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]


@pytest.mark.parametrize(
    "cursor",
    [
        "2026-01-01T00:00:00~5",  # no zone: which instant is it?
        "2026-01-01T00:00:00Z~99999999999999999999999",  # past a 64-bit position
        "2026-01-01T00:00:00Z~-3",
        "9999-12-31T23:59:59-23:59~1",  # UTC falls after year 9999
        "yesterday~1",
        "2026-01-01T00:00:00Z",
    ],
)
def test_a_malformed_timeline_cursor_is_422(
    client: TestClient, read_key: str, customer_id: str, cursor: str
) -> None:
    answer = client.get(
        f"/v1/customers/{customer_id}?cursor={quote(cursor)}", headers=bearer(read_key)
    )
    assert answer.status_code == 422, answer.text
    assert "bad timeline cursor" in answer.json()["detail"]


def test_the_cursor_given_pages_on(
    client: TestClient, ingest_key: str, read_key: str, customer_id: str
) -> None:
    send(client, ingest_key, *(interaction(email="ro@example.com", at=i) for i in range(1, 4)))
    first = client.get(f"/v1/customers/{customer_id}?limit=2", headers=bearer(read_key)).json()
    cursor = first["next_cursor"]
    rest = client.get(
        f"/v1/customers/{customer_id}?limit=2&cursor={quote(cursor)}", headers=bearer(read_key)
    ).json()
    seen = [e["id"] for e in first["timeline"]] + [e["id"] for e in rest["timeline"]]
    assert len(seen) == 4 and len(set(seen)) == 4
