"""POST /v1/interactions and /v1/interactions/batch: auth, validation at the edge, idempotency."""

from __future__ import annotations

import gzip

import orjson
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.builders import interaction


def test_single_interaction_is_created_then_reported_as_duplicate(
    client: TestClient, ingest_key: str
) -> None:
    event = interaction(
        id="call-1", type="call", channel="phone", phone="+1 415 555 0100", duration_s=95
    )
    first = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    again = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "accepted" and first.json()["customer_id"].startswith("cus_")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"


def test_bad_interaction_gets_422_with_field_path_and_allowed_values(
    client: TestClient, ingest_key: str
) -> None:
    event = interaction(email="a@example.com", channel="fax")
    response = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "channel"]
    assert "'phone'" in error["msg"] and "'in_person'" in error["msg"]


def test_naive_timestamp_is_rejected(client: TestClient, ingest_key: str) -> None:
    event = interaction(email="a@example.com")
    event["occurred_at"] = "2026-03-01T09:00:00"
    response = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "occurred_at"]


def test_batch_reports_each_item_and_keeps_the_good_ones(
    client: TestClient, ingest_key: str
) -> None:
    items = [
        interaction(id="b-1", email="x@example.com"),
        interaction(id="b-2", email="x@example.com", type="teleport"),
        interaction(id="b-1", email="x@example.com"),
        interaction(id="b-3", email="x@example.com", type="purchase", revenue=49.9, currency="USD"),
    ]
    response = client.post(
        "/v1/interactions/batch", json={"interactions": items}, headers=bearer(ingest_key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 1)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "duplicate"), (3, "accepted")]
    assert body["results"][1]["reason"].startswith("type:")


def test_gzip_body_is_accepted(client: TestClient, ingest_key: str) -> None:
    payload = gzip.compress(orjson.dumps({"interactions": [interaction(email="gz@example.com")]}))
    headers = {**bearer(ingest_key), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = client.post("/v1/interactions/batch", content=payload, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


def test_oversized_body_is_refused_with_413(client: TestClient, ingest_key: str) -> None:
    limit = client.app.state.touchpoint.settings.max_body_bytes  # type: ignore[attr-defined]
    payload = b'{"interactions": [' + b" " * (limit + 10) + b"]}"
    response = client.post(
        "/v1/interactions/batch",
        content=payload,
        headers={**bearer(ingest_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_gzip_bomb_is_refused(client: TestClient, ingest_key: str) -> None:
    limit = client.app.state.touchpoint.settings.max_body_bytes  # type: ignore[attr-defined]
    payload = gzip.compress(b" " * (limit * 2))
    headers = {**bearer(ingest_key), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = client.post("/v1/interactions/batch", content=payload, headers=headers)
    assert response.status_code == 400


def test_missing_wrong_and_read_only_keys_cannot_ingest(client: TestClient, read_key: str) -> None:
    event = interaction(email="k@example.com")
    assert client.post("/v1/interactions", json=event).status_code == 401
    assert (
        client.post("/v1/interactions", json=event, headers=bearer("tp_ingest_nope")).status_code
        == 401
    )
    assert client.post("/v1/interactions", json=event, headers=bearer(read_key)).status_code == 403


def test_every_endpoint_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/interactions",
        "/v1/interactions/batch",
        "/v1/customers",
        "/v1/customers/{customer_id}",
    ):
        assert path in paths


def test_every_operation_explains_itself_and_its_errors(client: TestClient) -> None:
    """The API docs a user reads: a summary and a description for every operation, and the
    authentication errors of every key-protected one, with the error body's schema."""
    document = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path, op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]
    assert len(operations) >= 14
    for method, path, op in operations:
        where = f"{method} {path}"
        assert op.get("summary") and op.get("description"), f"{where}: undocumented"
        if path.startswith("/v1/"):
            assert "401" in op["responses"], f"{where}: 401 not documented"
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["properties"]["detail"]["type"] == "string"
    assert "404" in document["paths"]["/v1/customers/{customer_id}"]["get"]["responses"]
    assert "413" in document["paths"]["/v1/batch"]["post"]["responses"]
