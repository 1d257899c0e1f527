"""Segment's HTTP Tracking API on Touchpoint, down to the real analytics-python SDK."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
import segment.analytics as analytics
from fastapi.testclient import TestClient
from segment.analytics import request as segment_request

from tests.api.http import bearer
from touchpoint.runtime import Touchpoint


def basic(key: str) -> dict[str, str]:
    """How Segment SDKs authenticate: the write key as the Basic-auth user, no password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def call(kind: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "messageId": message_id,
        "timestamp": "2026-03-01T09:30:00.000Z",
        **fields,
    }


def customer(client: TestClient, read_key: str, **identity: str) -> dict[str, Any]:
    """The one customer holding the identity, with identities and timeline (read API)."""
    found = client.get("/v1/customers", params=identity, headers=bearer(read_key)).json()
    assert found["total"] == 1, found
    view = client.get(f"/v1/customers/{found['items'][0]['id']}", headers=bearer(read_key))
    return view.json()


def test_gzipped_batch_is_stored(client: TestClient, ingest_key: str, read_key: str) -> None:
    body = {
        "batch": [
            call("identify", "m-1", userId="u-1", traits={"email": "ann@example.com"}),
            call("track", "m-2", userId="u-1", event="Signed Up"),
        ],
        "sentAt": "2026-03-01T09:30:01Z",
    }
    response = client.post(
        "/v1/batch",
        content=gzip.compress(orjson.dumps(body)),
        headers={
            **basic(ingest_key),
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 2, "duplicates": 0, "rejected": []}
    types = [i["type"] for i in customer(client, read_key, email="ann@example.com")["timeline"]]
    assert sorted(types) == ["identify", "signup"]


def test_same_message_id_twice_is_stored_once(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    msg = call("track", "dup-1", userId="u-2", event="Order Completed", properties={"revenue": 10})
    first = client.post("/v1/batch", json={"batch": [msg, msg]}, headers=basic(ingest_key))
    again = client.post("/v1/track", json=msg, headers=basic(ingest_key))
    assert first.json()["accepted"] == 1 and first.json()["duplicates"] == 1
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    view = customer(client, read_key, external_id="u-2")
    assert [i["id"] for i in view["timeline"]] == ["dup-1"]
    assert view["revenue"] == 10


def test_bad_basic_auth_is_401(client: TestClient) -> None:
    response = client.post("/v1/batch", json={"batch": []}, headers=basic("tp_ingest_wrong"))
    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]


def test_missing_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/track", json=call("track", "m", userId="u", event="Signed Up"))
    assert response.status_code == 401
    assert "missing API key" in response.json()["detail"]


def test_read_key_is_403(client: TestClient, read_key: str) -> None:
    response = client.post("/v1/batch", json={"batch": []}, headers=basic(read_key))
    assert response.status_code == 403


def test_write_key_in_the_body_is_accepted_when_no_header_is_sent(
    client: TestClient, ingest_key: str
) -> None:
    body = {"batch": [call("track", "m-wk", userId="u", event="Signed Up")], "writeKey": ingest_key}
    assert client.post("/v1/batch", json=body).json()["accepted"] == 1


@pytest.mark.parametrize("scope", ["read", "bogus"])
def test_write_key_in_the_body_is_checked_like_a_header(
    client: TestClient, read_key: str, scope: str
) -> None:
    key = read_key if scope == "read" else "tp_ingest_nope"
    response = client.post("/v1/batch", json={"batch": [], "writeKey": key})
    assert response.status_code == (403 if scope == "read" else 401)


def test_bad_message_in_a_batch_is_rejected_by_index_and_the_rest_land(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    batch = [
        call("track", "ok-1", userId="u-3", event="Signed Up"),
        call("track", "no-event", userId="u-3"),
        "not a message",
        call("identify", "bad-email", userId="u-3", traits={"email": "not-an-email"}),
        call("page", "ok-2", userId="u-3", name="Home"),
    ]
    response = client.post("/v1/batch", json={"batch": batch}, headers=basic(ingest_key))
    assert response.status_code == 200
    result = response.json()
    assert (result["success"], result["accepted"]) == (True, 2)
    reasons = {r["index"]: r for r in result["rejected"]}
    assert set(reasons) == {1, 2, 3}
    assert reasons[1]["reason"].startswith("event:") and reasons[1]["messageId"] == "no-event"
    assert "JSON object" in reasons[2]["reason"]
    assert "not a valid email" in reasons[3]["reason"]
    assert len(customer(client, read_key, external_id="u-3")["timeline"]) == 2


def test_batch_context_applies_to_each_message(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    body = {
        "batch": [call("page", "p-1", anonymousId="a-4"), call("page", "p-2", anonymousId="a-4")],
        "context": {"campaign": {"source": "newsletter", "medium": "email", "name": "april"}},
    }
    client.post("/v1/batch", json=body, headers=basic(ingest_key))
    timeline = customer(client, read_key, anonymous_id="a-4")["timeline"]
    assert {(i["source"], i["medium"], i["campaign"]) for i in timeline} == {
        ("newsletter", "email", "april")
    }


@pytest.mark.parametrize(
    ("path", "body", "expected_type"),
    [
        ("/v1/identify", {"userId": "u-5", "traits": {"plan": "pro"}}, "identify"),
        ("/v1/track", {"userId": "u-5", "event": "Trial Started"}, "trial_started"),
        ("/v1/page", {"userId": "u-5", "name": "Pricing"}, "page_view"),
        ("/v1/screen", {"userId": "u-5", "name": "Home"}, "page_view"),
        ("/v1/alias", {"userId": "u-5", "previousId": "anon-5"}, "alias"),
        ("/v1/group", {"userId": "u-5", "groupId": "acct-5"}, "custom"),
    ],
)
def test_each_single_call_endpoint_stores_its_message(
    client: TestClient,
    ingest_key: str,
    read_key: str,
    path: str,
    body: dict[str, Any],
    expected_type: str,
) -> None:
    response = client.post(path, json={**body, "messageId": "one"}, headers=basic(ingest_key))
    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
    [stored] = customer(client, read_key, external_id="u-5")["timeline"]
    assert (stored["id"], stored["type"]) == ("one", expected_type)


def test_single_bad_message_is_400_naming_the_problem(client: TestClient, ingest_key: str) -> None:
    response = client.post("/v1/track", json={"userId": "u-6"}, headers=basic(ingest_key))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("track: event: a track call needs the event name")


def test_single_message_refused_by_validation_is_400(client: TestClient, ingest_key: str) -> None:
    body = {"userId": "u-6", "traits": {"email": "nope"}}
    response = client.post("/v1/identify", json=body, headers=basic(ingest_key))
    assert response.status_code == 400
    assert "not a valid email" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "body is not valid JSON"), (b"[1, 2]", "body must be a JSON object")],
)
def test_body_that_is_not_a_json_object_is_400(
    client: TestClient, ingest_key: str, content: bytes, expected: str
) -> None:
    response = client.post("/v1/batch", content=content, headers=basic(ingest_key))
    assert response.status_code == 400
    assert expected in response.json()["detail"]


def test_batch_without_a_list_is_400(client: TestClient, ingest_key: str) -> None:
    response = client.post(
        "/v1/batch", json={"batch": {"type": "track"}}, headers=basic(ingest_key)
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "batch: must be a list of messages"


def test_batch_larger_than_max_batch_items_is_400(
    tp: Touchpoint, client: TestClient, ingest_key: str
) -> None:
    tp.settings.max_batch_items = 2
    batch = [call("track", f"m-{i}", userId="u", event="Signed Up") for i in range(3)]
    response = client.post("/v1/batch", json={"batch": batch}, headers=basic(ingest_key))
    assert response.status_code == 400
    assert "at most 2 allowed" in response.json()["detail"]


def test_user_events_file_from_settings_maps_events(
    tp: Touchpoint, client: TestClient, ingest_key: str, read_key: str, tmp_path: Path
) -> None:
    table = tmp_path / "events.toml"
    table.write_text('[events."Callback Requested"]\ntype = "call"\nchannel = "phone"\n')
    tp.settings.segment_events_file = table
    msg = {"userId": "u-7", "event": "Callback Requested"}
    client.post("/v1/track", json=msg, headers=basic(ingest_key))
    [stored] = customer(client, read_key, external_id="u-7")["timeline"]
    assert (stored["type"], stored["channel"], stored["name"]) == (
        "call",
        "phone",
        "Callback Requested",
    )


def test_every_segment_endpoint_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in ("identify", "track", "page", "screen", "alias", "group", "batch"):
        operation = paths[f"/v1/{kind}"]["post"]
        assert operation["summary"].lower().startswith(f"segment {kind}")
        assert "requestBody" in operation


# --- the real Segment SDK against a real server -----------------------------------------------


@pytest.fixture
def segment_client(live_server: str, ingest_key: str):
    """analytics-python pointed at Touchpoint; yields (client, errors reported to on_error)."""
    errors: list[tuple[Exception, list[dict[str, Any]]]] = []
    client = analytics.Client(
        write_key=ingest_key,
        host=live_server,
        gzip=True,
        on_error=lambda error, batch: errors.append((error, batch)),
        upload_interval=0.05,
        max_retries=1,
    )
    try:
        yield client, errors
    finally:
        client.shutdown()  # flush, then stop the consumer thread
        # The SDK keeps one module-level requests session; drop its pooled socket to the
        # server that is about to stop, so it is not left for the garbage collector.
        segment_request._session.close()


def test_segment_sdk_lands_identities_and_purchase_on_one_customer(
    segment_client: tuple[analytics.Client, list[Any]], live_server: str, read_key: str
) -> None:
    sdk, errors = segment_client
    sdk.identify(
        "user-42",
        traits={"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
        anonymous_id="anon-phone",
    )
    sdk.page(
        anonymous_id="anon-laptop",
        name="Pricing",
        properties={"url": "https://shop.example/pricing", "path": "/pricing", "title": "Pricing"},
        context={"campaign": {"source": "google", "medium": "cpc", "name": "spring"}},
    )
    sdk.track(
        "user-42",
        "Order Completed",
        {"order_id": "o-1", "revenue": 99.5, "currency": "EUR"},
        message_id="order-o-1",
    )
    sdk.alias(previous_id="anon-laptop", user_id="user-42")
    sdk.flush()
    assert errors == []

    with httpx2.Client(base_url=live_server, headers=bearer(read_key)) as http:
        found = http.get("/v1/customers", params={"external_id": "user-42"}).json()
        assert found["total"] == 1
        view = http.get(f"/v1/customers/{found['items'][0]['id']}").json()
        by_laptop = http.get("/v1/customers", params={"anonymous_id": "anon-laptop"}).json()

    assert by_laptop["items"][0]["id"] == view["id"]
    assert {(i["kind"], i["value"]) for i in view["identities"]} == {
        ("external_id", "user-42"),
        ("email", "ann@example.com"),
        ("anonymous_id", "anon-phone"),
        ("anonymous_id", "anon-laptop"),
        ("previous_id", "anon-laptop"),  # the alias: whoever was known as anon-laptop
    }
    assert (view["name"], view["revenue"]) == ("Ann Lee", 99.5)
    by_type = {i["type"]: i for i in view["timeline"]}
    assert set(by_type) == {"identify", "page_view", "purchase", "alias"}
    purchase = by_type["purchase"]
    assert (purchase["id"], purchase["name"], purchase["revenue"], purchase["currency"]) == (
        "order-o-1",
        "Order Completed",
        99.5,
        "EUR",
    )
    assert (by_type["page_view"]["source"], by_type["page_view"]["campaign"]) == (
        "google",
        "spring",
    )


def test_segment_sdk_alias_between_two_user_ids_merges_them(
    segment_client: tuple[analytics.Client, list[Any]], live_server: str, read_key: str
) -> None:
    """The session a new user tries first: two users, then an alias saying they are one."""
    sdk, errors = segment_client
    sdk.identify("u7", traits={"email": "seven@example.com"})
    sdk.identify("u8")
    sdk.track("u8", "Signed Up")
    sdk.alias(previous_id="u8", user_id="u7")
    sdk.flush()
    assert errors == []

    with httpx2.Client(base_url=live_server, headers=bearer(read_key)) as http:
        by_u7 = http.get("/v1/customers", params={"external_id": "u7"}).json()
        by_u8 = http.get("/v1/customers", params={"external_id": "u8"}).json()
        assert http.get("/v1/customers").json()["total"] == 1
        view = http.get(f"/v1/customers/{by_u7['items'][0]['id']}").json()
        merges = http.get("/v1/identity/merges").json()
    assert by_u7["items"][0]["id"] == by_u8["items"][0]["id"]
    assert {(i["kind"], i["value"]) for i in view["identities"]} == {
        ("external_id", "u7"),
        ("external_id", "u8"),
        ("email", "seven@example.com"),
        ("previous_id", "u8"),
    }
    assert sorted(i["type"] for i in view["timeline"]) == [
        "alias",
        "identify",
        "identify",
        "signup",
    ]
    assert [(m["cause"], m["linking_key"]) for m in merges["items"]] == [
        ("alias", "previous_id:u8")
    ]


def test_a_message_id_resent_with_other_content_is_refused_and_the_first_kept(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    order = call(
        "track", "ord-1", userId="u-9", event="Order Completed", properties={"revenue": 10}
    )
    changed = {**order, "properties": {"revenue": 99}}
    assert client.post("/v1/track", json=order, headers=basic(ingest_key)).status_code == 200
    batch = client.post(
        "/v1/batch",
        json={"batch": [order, changed, call("page", "pg-1", userId="u-9", name="Home")]},
        headers=basic(ingest_key),
    ).json()
    assert (batch["accepted"], batch["duplicates"]) == (1, 1)
    assert batch["rejected"] == [
        {
            "index": 1,
            "messageId": "ord-1",
            "reason": "id ord-1 already stored with different content (fields: revenue, "
            "properties)",
        }
    ]
    single = client.post("/v1/track", json=changed, headers=basic(ingest_key))
    assert single.status_code == 400
    assert single.json()["detail"].startswith("track: id ord-1 already stored with different")
    assert customer(client, read_key, external_id="u-9")["revenue"] == 10


def test_a_message_with_no_time_of_its_own_sent_again_later_is_a_duplicate(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    """With no timestamp, originalTimestamp or sentAt, its moment is when it arrived: the
    resend arrives later and is still the same message; other content is still a conflict."""
    order = {
        "type": "track",
        "messageId": "untimed-1",
        "userId": "u-untimed",
        "event": "Order Completed",
        "properties": {"revenue": 10},
    }
    first = client.post("/v1/batch", json={"batch": [order]}, headers=basic(ingest_key))
    assert (first.json()["accepted"], first.json()["duplicates"]) == (1, 0)
    again = client.post("/v1/batch", json={"batch": [order]}, headers=basic(ingest_key))
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
    assert again.json()["rejected"] == []
    assert client.post("/v1/track", json=order, headers=basic(ingest_key)).status_code == 200
    changed = {**order, "properties": {"revenue": 99}}
    refused = client.post("/v1/batch", json={"batch": [changed]}, headers=basic(ingest_key))
    assert [r["messageId"] for r in refused.json()["rejected"]] == ["untimed-1"]
    assert "occurred_at" not in refused.json()["rejected"][0]["reason"]
    assert customer(client, read_key, external_id="u-untimed")["revenue"] == 10


def test_a_message_dated_in_the_future_is_refused_by_index(
    client: TestClient, ingest_key: str
) -> None:
    batch = [
        call("track", "soon-1", userId="u-10", event="Signed Up", timestamp="2099-01-01T00:00:00Z"),
        call("track", "now-1", userId="u-10", event="Signed Up"),
    ]
    result = client.post("/v1/batch", json={"batch": batch}, headers=basic(ingest_key)).json()
    assert result["accepted"] == 1
    [refused] = result["rejected"]
    assert (refused["index"], refused["messageId"]) == (0, "soon-1")
    assert refused["reason"].startswith("occurred_at: 2099-01-01T00:00:00+00:00 is in the future")
