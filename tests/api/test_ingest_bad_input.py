"""Every ingest endpoint answers bad input with a documented 4xx naming the field, never a 500,
and a bad item in a batch is rejected alone while the good ones are stored (issue 9, ingest
side). Bodies are sent as JSON text, so values Python's json reads but JSON forbids (NaN, a
lone surrogate escape) reach the server as a client would send them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.api.test_segment_api import basic
from tests.builders import interaction
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint

GOOD_AT = "2026-03-01T09:30:00Z"


@pytest.fixture
def outside(tp: Touchpoint) -> Iterator[TestClient]:
    """A client that sees a server error as a 500 answer, as a client outside would."""
    with TestClient(create_app(tp), raise_server_exceptions=False) as client:
        yield client


def nested(levels: int) -> str:
    """JSON text of objects nested `levels` deep: {"a": {"a": ... 1}}."""
    return '{"a": ' * levels + "1" + "}" * levels


def with_raw(item: dict[str, Any], field: str, raw_json: str) -> str:
    """`item` as JSON text with `field` set to the JSON text `raw_json`, as sent."""
    return json.dumps({**item, field: "RAW"}).replace('"RAW"', raw_json)


def post_text(client: TestClient, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.post(path, content=text, headers={**headers, "Content-Type": "application/json"})


def one_and_batch(client: TestClient, key: str, bad: str) -> tuple[Any, Any, list[dict[str, Any]]]:
    """POST the bad item alone, then in a batch between two good ones: the single answer, the
    batch answer and the batch's results."""
    single = post_text(client, "/v1/interactions", bad, bearer(key))
    good = [json.dumps(interaction(email=f"good{i}@example.com")) for i in (1, 2)]
    batch = post_text(
        client, "/v1/interactions/batch", f"[{good[0]}, {bad}, {good[1]}]", bearer(key)
    )
    assert batch.status_code == 200, batch.text
    return single, batch, batch.json()["results"]


def assert_alone_rejected(results: list[dict[str, Any]], reason_start: str) -> None:
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["reason"].startswith(reason_start), results[1]["reason"]


def segment_batch(client: TestClient, key: str, bad: str) -> Any:
    """A Segment /v1/batch with the bad message between two good ones."""
    good = [
        json.dumps({"type": "track", "userId": f"u-good-{i}", "event": "Signed Up"}) for i in (1, 2)
    ]
    text = f'{{"batch": [{good[0]}, {bad}, {good[1]}], "sentAt": "{GOOD_AT}"}}'
    answer = post_text(client, "/v1/batch", text, basic(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_segment_alone_rejected(body: dict[str, Any], reason_start: str) -> None:
    assert body["accepted"] == 2, body
    assert [r["index"] for r in body["rejected"]] == [1]
    assert body["rejected"][0]["reason"].startswith(reason_start), body["rejected"]


# --- 1 and 8: moments -------------------------------------------------------------------------

OUT_OF_UTC = ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"]


@pytest.mark.parametrize("at", OUT_OF_UTC)
def test_a_moment_an_offset_moves_outside_utc_years_is_refused(
    outside: TestClient, ingest_key: str, at: str
) -> None:
    bad = json.dumps(interaction(at=0) | {"occurred_at": at})
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"] == [
        {
            "loc": ["body", "occurred_at"],
            "msg": f"{at} falls outside the years 1-9999 once read in UTC",
            "type": "refused",
        }
    ]
    assert_alone_rejected(results, f"occurred_at: {at} falls outside the years 1-9999")


@pytest.mark.parametrize("at", OUT_OF_UTC)
def test_a_segment_timestamp_outside_utc_years_is_refused(
    outside: TestClient, ingest_key: str, at: str
) -> None:
    message = {"userId": "u-1", "event": "Signed Up", "timestamp": at}
    single = outside.post("/v1/track", json=message, headers=basic(ingest_key))
    assert single.status_code == 400, single.text
    assert single.json()["detail"] == (
        f"track: timestamp: {at} falls outside the years 1-9999 once read in UTC"
    )
    body = segment_batch(outside, ingest_key, json.dumps({"type": "track", **message}))
    assert_segment_alone_rejected(body, f"timestamp: {at} falls outside")


@pytest.mark.parametrize("at", [12345, 1.7e9, "1700000000"])
def test_a_number_is_no_moment(outside: TestClient, ingest_key: str, at: Any) -> None:
    bad = json.dumps(interaction(at=0) | {"occurred_at": at})
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"][0]["msg"] == (
        f"{at!r} is a number, not a moment (epoch times are not read); send an ISO 8601 "
        "date-time with a zone, such as 2026-03-01T12:00:00Z"
    )
    assert_alone_rejected(results, f"occurred_at: {at!r} is a number, not a moment")


def test_a_segment_timestamp_that_is_a_number_is_refused(
    outside: TestClient, ingest_key: str
) -> None:
    message = {"userId": "u-1", "event": "Signed Up", "timestamp": 12345}
    single = outside.post("/v1/track", json=message, headers=basic(ingest_key))
    assert single.status_code == 400
    assert single.json()["detail"].startswith(
        "track: timestamp: 12345 is a number, not a moment (epoch times are not read); "
        "send an ISO 8601 date-time with a zone"
    )
    body = segment_batch(outside, ingest_key, json.dumps({"type": "track", **message}))
    assert_segment_alone_rejected(body, "timestamp: 12345 is a number")


def test_a_moment_before_the_window_is_refused(outside: TestClient, ingest_key: str) -> None:
    bad = json.dumps(interaction(at=0) | {"occurred_at": "0999-06-01T00:00:00Z"})
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422
    refused = "occurred_at: 0999-06-01T00:00:00+00:00 is before the plausible window for an "
    assert single.json()["detail"].startswith(refused + "interaction, 1970-01-01T00:00:00Z to ")
    assert_alone_rejected(results, refused)


# --- 2: depth ---------------------------------------------------------------------------------


def test_properties_nested_300_deep_are_refused(outside: TestClient, ingest_key: str) -> None:
    bad = with_raw(interaction(at=0), "properties", nested(300))
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"] == [
        {
            "loc": ["body", "properties"],
            "msg": "nested deeper than 32 levels of objects and arrays",
            "type": "refused",
        }
    ]
    assert_alone_rejected(results, "properties: nested deeper than 32 levels")


def test_properties_32_deep_are_stored(outside: TestClient, ingest_key: str) -> None:
    """The bound's edge: `properties` itself is the first of the 32 levels."""
    item = with_raw(interaction(at=0), "properties", nested(32))
    assert post_text(outside, "/v1/interactions", item, bearer(ingest_key)).status_code == 201
    deeper = with_raw(interaction(at=0), "properties", nested(33))
    assert post_text(outside, "/v1/interactions", deeper, bearer(ingest_key)).status_code == 422


def test_segment_properties_nested_300_deep_are_refused(
    outside: TestClient, ingest_key: str
) -> None:
    track = {"userId": "u-1", "event": "Signed Up", "timestamp": GOOD_AT}
    single = post_text(
        outside, "/v1/track", with_raw(track, "properties", nested(300)), basic(ingest_key)
    )
    assert single.status_code == 400
    assert single.json()["detail"] == (
        "track: properties: nested deeper than 32 levels of objects and arrays"
    )


def test_a_message_context_1000_deep_in_a_segment_batch_is_rejected_alone(
    outside: TestClient, ingest_key: str
) -> None:
    message = {"type": "track", "userId": "u-1", "event": "Signed Up"}
    bad = with_raw(message, "context", nested(1000))
    text = (
        f'{{"batch": [{json.dumps(message | {"userId": "u-2"})}, {bad}], '
        '"context": {"library": {"name": "analytics-python"}}}'
    )
    answer = post_text(outside, "/v1/batch", text, basic(ingest_key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"] == [
        {
            "index": 1,
            "reason": "context: nested deeper than 32 levels of objects and arrays",
            "messageId": None,
        }
    ]


def test_a_batch_context_1000_deep_refuses_the_batch_with_400(
    outside: TestClient, ingest_key: str
) -> None:
    """The batch's context is every message's: none can be stored, so Segment's 400 (drop it,
    do not retry) is the answer; it used to recurse without end in the deep merge."""
    message = {"type": "track", "userId": "u-1", "event": "Signed Up", "context": {}}
    deep = nested(1000)
    inner = with_raw(message, "context", deep)
    text = f'{{"batch": [{inner}], "context": {deep}}}'
    answer = post_text(outside, "/v1/batch", text, basic(ingest_key))
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == (
        "context: nested deeper than 32 levels of objects and arrays"
    )


# --- 3: lone surrogates -----------------------------------------------------------------------

SURROGATE = "\\ud800"  # the JSON escape, as sent


def test_a_lone_surrogate_in_properties_is_refused_per_item(
    outside: TestClient, ingest_key: str
) -> None:
    bad = with_raw(interaction(at=0), "properties", f'{{"note": "a{SURROGATE}b"}}')
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"][0]["msg"] == (
        "note: text must be valid Unicode; it holds a lone surrogate '\\ud800'"
    )
    assert_alone_rejected(results, "properties: note: text must be valid Unicode")


def test_a_lone_surrogate_in_an_id_is_refused_and_echoed_escaped(
    outside: TestClient, ingest_key: str
) -> None:
    bad = with_raw(interaction(at=0), "id", f'"x{SURROGATE}"')
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"][0]["loc"] == ["body", "id"]
    assert_alone_rejected(results, "id: Input should be a valid string")
    assert results[1]["id"] == "x\\ud800"  # the text a client can read, not the surrogate


def test_a_lone_surrogate_in_an_email_is_refused(outside: TestClient, ingest_key: str) -> None:
    bad = with_raw(interaction(at=0), "customer", f'{{"email": "a{SURROGATE}@example.com"}}')
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"][0]["loc"] == ["body", "customer", "email"]
    assert_alone_rejected(results, "customer.email: ")


def test_a_lone_surrogate_in_a_property_key_is_named_escaped(
    outside: TestClient, ingest_key: str
) -> None:
    bad = with_raw(interaction(at=0), "properties", f'{{"k{SURROGATE}": 1}}')
    single = post_text(outside, "/v1/interactions", bad, bearer(ingest_key))
    assert single.status_code == 422, single.text
    assert single.json()["detail"][0]["msg"] == (
        "key 'k\\ud800': text must be valid Unicode; it holds a lone surrogate '\\ud800'"
    )


def test_a_lone_surrogate_in_a_segment_message_is_rejected_alone(
    outside: TestClient, ingest_key: str
) -> None:
    bad = f'{{"type": "track", "userId": "u{SURROGATE}", "event": "Signed Up"}}'
    body = segment_batch(outside, ingest_key, bad)
    assert_segment_alone_rejected(body, "customer.external_id: Input should be a valid string")
    single = post_text(outside, "/v1/track", bad, basic(ingest_key))
    assert single.status_code == 400, single.text


def test_a_field_error_echoing_a_surrogate_still_renders(
    outside: TestClient, ingest_key: str
) -> None:
    """The request-shape 422 used to echo the input, which a surrogate made unencodable."""
    bad = with_raw(interaction(at=0), "channel", f'"w{SURROGATE}b"')
    answer = post_text(outside, "/v1/interactions", bad, bearer(ingest_key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "channel"]
    assert "input" not in answer.json()["detail"][0]


# --- 4: NaN and Infinity ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["duration_s", "revenue"])
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_refused(
    outside: TestClient, ingest_key: str, field: str, number: str
) -> None:
    bad = with_raw(interaction(type="call", channel="phone", at=0), field, number)
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert single.json()["detail"] == [
        {"loc": ["body", field], "msg": "Input should be a finite number", "type": "finite_number"}
    ]
    assert_alone_rejected(results, f"{field}: Input should be a finite number")


def test_nan_in_properties_is_refused_not_stored_as_null(
    outside: TestClient, ingest_key: str
) -> None:
    bad = with_raw(interaction(at=0), "properties", '{"score": NaN}')
    _, _, results = one_and_batch(outside, ingest_key, bad)
    assert_alone_rejected(results, "properties: score: nan is not a number JSON can store")


def test_nan_revenue_in_a_segment_batch_is_rejected_alone(
    outside: TestClient, ingest_key: str
) -> None:
    bad = '{"type": "track", "userId": "u-1", "event": "Order Completed", "properties": {"revenue": NaN}}'
    body = segment_batch(outside, ingest_key, bad)
    assert_segment_alone_rejected(body, "properties.revenue: must be a number; got nan")


# --- 5: control characters in ids -------------------------------------------------------------


def test_an_id_with_a_nul_is_refused_every_time(outside: TestClient, ingest_key: str) -> None:
    """Sent twice it used to pass the duplicate check and hit the unique index (a 500)."""
    bad = json.dumps(interaction(at=0, id="evt\u00001"))
    for _ in range(2):
        single = post_text(outside, "/v1/interactions", bad, bearer(ingest_key))
        assert single.status_code == 422, single.text
        assert single.json()["detail"][0]["msg"] == (
            "an id must not contain control characters; it holds '\\x00'"
        )
    _, _, results = one_and_batch(outside, ingest_key, bad)
    assert_alone_rejected(results, "id: an id must not contain control characters")


@pytest.mark.parametrize(
    "customer",
    [
        {"external_id": "u\u00001"},
        {"anonymous_id": "a\u001b[2J"},
        {"email": "ann\u0007@example.com"},
        {"phone": "+1 646 555 0100\u0000"},
        {"handles": {"twitter": "@a\u0085nn"}},
    ],
)
def test_an_identity_value_with_a_control_character_is_refused(
    outside: TestClient, ingest_key: str, customer: dict[str, Any]
) -> None:
    bad = json.dumps(interaction(at=0) | {"customer": customer})
    single, _, results = one_and_batch(outside, ingest_key, bad)
    assert single.status_code == 422, single.text
    assert "must not contain control characters" in single.json()["detail"][0]["msg"]
    assert_alone_rejected(results, "customer.")


def test_a_nul_in_a_segment_message_id_is_rejected_alone(
    outside: TestClient, ingest_key: str
) -> None:
    bad = json.dumps({"type": "track", "userId": "u-1", "event": "E", "messageId": "m\u00001"})
    body = segment_batch(outside, ingest_key, bad)
    assert_segment_alone_rejected(body, "id: an id must not contain control characters")


# --- 7: phone extensions ----------------------------------------------------------------------


def test_two_extensions_and_the_bare_number_are_three_customers(
    outside: TestClient, manager_key: str, read_key: str
) -> None:
    phones = ["+1 646 555 0100 ext. 123", "+1 646 555 0100 x456", "+1 646 555 0100"]
    results = send(outside, manager_key, *(interaction(phone=p) for p in phones))
    assert [r["status"] for r in results] == ["accepted"] * 3
    assert len({r["customer_id"] for r in results}) == 3
    again = send(outside, manager_key, interaction(phone="+1 (646) 555-0100 extension 123"))
    assert again[0]["customer_id"] == results[0]["customer_id"]
    view = outside.get(f"/v1/customers/{results[1]['customer_id']}", headers=bearer(read_key))
    assert [(i["kind"], i["value"]) for i in view.json()["identities"]] == [
        ("phone", "+16465550100;ext=456")
    ]
