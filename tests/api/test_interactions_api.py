"""POST /v1/interactions and /v1/interactions/batch: auth, validation at the edge, idempotency."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.builders import interaction


def test_single_interaction_is_created_then_reported_as_duplicate(
    client: TestClient, manager_key: str
) -> None:
    event = interaction(
        id="call-1", type="call", channel="phone", phone="+1 415 555 0100", duration_s=95
    )
    first = client.post("/v1/interactions", json=event, headers=bearer(manager_key))
    again = client.post("/v1/interactions", json=event, headers=bearer(manager_key))
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


PUBLIC_PREFIX = (
    "/v1/unsubscribe/",
    "/v1/survey/",
)  # an email's links: its signed token is the proof, not a key


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
        if path.startswith("/v1/") and not path.startswith(PUBLIC_PREFIX):
            assert "401" in op["responses"], f"{where}: 401 not documented"
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["properties"]["detail"]["type"] == "string"
    assert "404" in document["paths"]["/v1/customers/{customer_id}"]["get"]["responses"]
    assert "413" in document["paths"]["/v1/batch"]["post"]["responses"]


def post_batch(client: TestClient, key: str, content: bytes, content_type: str):
    headers = {**bearer(key), "Content-Type": content_type}
    return client.post("/v1/interactions/batch", content=content, headers=headers)


def test_batch_takes_a_bare_json_array(client: TestClient, ingest_key: str) -> None:
    items = [interaction(id="a-1", email="arr@example.com"), [1], interaction(id="a-2")]
    response = client.post("/v1/interactions/batch", json=items, headers=bearer(ingest_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [(r["index"], r["status"], r["line"]) for r in body["results"]] == [
        (0, "accepted", None),
        (1, "rejected", None),
        (2, "accepted", None),
    ]
    assert body["results"][1]["reason"] == (
        "each item must be an interaction (a JSON object); got an array"
    )


def test_batch_takes_ndjson_one_interaction_per_line(client: TestClient, ingest_key: str) -> None:
    good = orjson.dumps(interaction(id="n-1", email="nd@example.com")).decode()
    lines = [
        good,
        "",  # blank lines are skipped
        "{not json",
        orjson.dumps(interaction(id="n-2", email="nd@example.com", channel="fax")).decode(),
        good,  # a duplicate of line 1
        '"a string"',
        orjson.dumps(interaction(id="n-3", email="nd@example.com")).decode(),
    ]
    response = post_batch(client, ingest_key, "\n".join(lines).encode(), "application/x-ndjson")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"], body["rejected"]) == (
        2,
        1,
        0,
        3,
    )
    assert [(r["index"], r["line"], r["status"]) for r in body["results"]] == [
        (0, 1, "accepted"),
        (1, 3, "rejected"),
        (2, 4, "rejected"),
        (3, 5, "duplicate"),
        (4, 6, "rejected"),
        (5, 7, "accepted"),
    ]
    reasons = [r["reason"] for r in body["results"]]
    assert reasons[1].startswith("line 3: not valid JSON")
    assert reasons[2].startswith("channel:")
    assert reasons[4] == "line 6: each item must be an interaction (a JSON object); got a string"


def test_batch_takes_gzipped_jsonl_too(client: TestClient, ingest_key: str) -> None:
    lines = b"\r\n".join(
        orjson.dumps(interaction(id=f"j-{i}", email="jl@example.com")) for i in range(3)
    )
    headers = {
        **bearer(ingest_key),
        "Content-Type": "application/jsonl; charset=utf-8",
        "Content-Encoding": "gzip",
    }
    response = client.post("/v1/interactions/batch", content=gzip.compress(lines), headers=headers)
    assert response.status_code == 200, response.text
    assert [r["line"] for r in response.json()["results"]] == [1, 2, 3]
    assert response.json()["accepted"] == 3


def test_batch_bodies_that_cannot_be_answered_item_by_item_are_refused(
    client: TestClient, ingest_key: str
) -> None:
    cases = [
        (b'[{"id": ', "application/json", 400, "body is not valid JSON"),
        (b"\xff\xfe{}", "application/x-ndjson", 400, "body is not UTF-8 text"),
        (b'{"batch": []}', "application/json", 422, "body: must be an array of interactions"),
        (b'{"interactions": 3}', "application/json", 422, "interactions: must be an array"),
        (b"[]", "text/csv", 415, "Content-Type text/csv: send application/json"),
    ]
    for content, content_type, code, message in cases:
        response = post_batch(client, ingest_key, content, content_type)
        assert response.status_code == code, (content, response.text)
        assert response.json()["detail"].startswith(message), response.text


def test_batch_documents_its_three_body_shapes(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/interactions/batch"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-ndjson", "application/jsonl"}
    shapes = [s["type"] for s in content["application/json"]["schema"]["oneOf"]]
    assert shapes == ["array", "object"]
    assert {"400", "413", "415", "422"} <= set(operation["responses"])


def test_reposting_an_id_with_other_content_is_a_conflict_not_a_duplicate(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    event = interaction(
        id="ord-7", type="purchase", email="co@example.com", revenue=20, currency="EUR"
    )
    first = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert first.status_code == 201, first.text
    same = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert (same.status_code, same.json()["status"]) == (200, "duplicate")
    changed = {**event, "revenue": 25, "currency": "USD"}
    single = client.post("/v1/interactions", json=changed, headers=bearer(ingest_key))
    assert single.status_code == 409, single.text
    assert single.json()["detail"] == (
        "id ord-7 already stored with different content (fields: revenue, currency)"
    )
    batch = client.post(
        "/v1/interactions/batch",
        json=[event, changed, interaction(id="ord-8", email="co@example.com")],
        headers=bearer(ingest_key),
    ).json()
    assert (batch["accepted"], batch["duplicates"], batch["conflicts"], batch["rejected"]) == (
        1,
        1,
        1,
        0,
    )
    conflict = batch["results"][1]
    assert (conflict["status"], conflict["id"], conflict["differs"]) == (
        "conflict",
        "ord-7",
        ["revenue", "currency"],
    )
    assert batch["results"][0]["differs"] is None
    found = client.get(
        "/v1/customers", params={"email": "co@example.com"}, headers=bearer(read_key)
    ).json()
    assert found["items"][0]["revenue"] == 20  # the first content stays; nothing else stored
    assert found["items"][0]["interaction_count"] == 2  # ord-7 and ord-8


def test_an_interaction_dated_in_the_future_is_refused_naming_the_field(
    client: TestClient, ingest_key: str
) -> None:
    after_tomorrow = datetime.now(UTC) + timedelta(days=2)  # the window ends a day ahead
    event = interaction(id="fut-1", email="fu@example.com", at=after_tomorrow)
    single = client.post("/v1/interactions", json=event, headers=bearer(ingest_key))
    assert single.status_code == 422
    assert single.json()["detail"].startswith("occurred_at: ")
    assert "is in the future" in single.json()["detail"]
    batch = client.post(
        "/v1/interactions/batch",
        json=[event, interaction(id="fut-2", email="fu@example.com")],
        headers=bearer(ingest_key),
    ).json()
    assert [(r["status"], r["id"]) for r in batch["results"]] == [
        ("rejected", "fut-1"),
        ("accepted", "fut-2"),
    ]
