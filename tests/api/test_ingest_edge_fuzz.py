"""Edge-case fuzzing of the ingest endpoints with what a JSON schema cannot ask Schemathesis
for: values Python's JSON reader takes but JSON columns cannot hold (NaN, Infinity, lone
surrogates, NUL, integers past 64 bits, nesting past the bound) and moments that are numbers or
fall outside UTC's years, sent as JSON text in any field. Whatever is sent, each endpoint answers
one of its documented codes, and a batch stores its good item beside the bad one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.http import bearer
from tests.api.test_segment_api import basic
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint

EDGES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",  # Infinity by another name
    "18446744073709551616",  # 2**64
    "-9223372036854775809",  # -2**63 - 1
    "12345",  # an epoch time
    '"1700000000"',
    '"\\ud800"',
    '"x\\udfffy"',
    '"a\\u0000b"',
    '"\\u001b[2J"',
    '"9999-12-31T23:30:00-01:00"',
    '"0001-01-01T00:30:00+01:00"',
    '"0999-01-01T00:00:00Z"',
    '{"a": ' * 40 + "1" + "}" * 40,
    "[" * 300 + "]" * 300,
    '{"\\ud800": 1}',
    "true",
    "null",
    '""',
    "[]",
]
INTERACTION_FIELDS = [
    "id",
    "type",
    "occurred_at",
    "customer",
    "customer.email",
    "customer.phone",
    "customer.external_id",
    "customer.handles",
    "name",
    "duration_s",
    "revenue",
    "currency",
    "properties",
    "properties.note",
    "traits",
    "attribution.source",
]
SEGMENT_FIELDS = [
    "userId",
    "anonymousId",
    "messageId",
    "event",
    "timestamp",
    "properties",
    "properties.revenue",
    "traits",
    "context",
    "context.traits",
    "context.campaign.source",
]
_ids = count(1)


@pytest.fixture
def outside(tp: Touchpoint) -> Iterator[TestClient]:
    with TestClient(create_app(tp), raise_server_exceptions=False) as client:
        yield client


def planted(item: dict[str, object], path: str, raw_json: str) -> str:
    """`item` as JSON text with the field at the dotted `path` set to the JSON text given."""
    target = item
    *parents, last = path.split(".")
    for name in parents:
        target = target.setdefault(name, {})  # type: ignore[assignment]
    target[last] = "__EDGE__"
    return json.dumps(item).replace('"__EDGE__"', raw_json)


def an_interaction() -> dict[str, object]:
    n = next(_ids)
    return {
        "id": f"edge-{n}",
        "type": "purchase",
        "channel": "web",
        "occurred_at": "2026-03-01T09:30:00Z",
        "customer": {"email": f"edge{n}@example.com"},
        "revenue": 10.0,
        "currency": "EUR",
    }


def a_message() -> dict[str, object]:
    n = next(_ids)
    return {
        "type": "track",
        "messageId": f"m-edge-{n}",
        "userId": f"u-edge-{n}",
        "event": "Order Completed",
        "timestamp": "2026-03-01T09:30:00Z",
        "properties": {"revenue": 10},
    }


FUZZ = settings(
    max_examples=60,
    derandomize=True,  # the same examples on every run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(path=st.sampled_from(INTERACTION_FIELDS), edge=st.sampled_from(EDGES))
def test_interaction_endpoints_answer_every_edge_value_as_documented(
    outside: TestClient, ingest_key: str, path: str, edge: str
) -> None:
    bad = planted(an_interaction(), path, edge)
    single = outside.post(
        "/v1/interactions",
        content=bad,
        headers={**bearer(ingest_key), "Content-Type": "application/json"},
    )
    assert single.status_code in (200, 201, 400, 409, 422), single.text
    good = json.dumps(an_interaction())
    batch = outside.post(
        "/v1/interactions/batch",
        content=f"[{good}, {bad}]",
        headers={**bearer(ingest_key), "Content-Type": "application/json"},
    )
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert results[0]["status"] == "accepted", results
    assert results[1]["status"] in ("accepted", "duplicate", "rejected"), results


@FUZZ
@given(path=st.sampled_from(SEGMENT_FIELDS), edge=st.sampled_from(EDGES))
def test_segment_endpoints_answer_every_edge_value_as_documented(
    outside: TestClient, ingest_key: str, path: str, edge: str
) -> None:
    headers = {**basic(ingest_key), "Content-Type": "application/json"}
    single_message = a_message()
    del single_message["type"]
    single = outside.post("/v1/track", content=planted(single_message, path, edge), headers=headers)
    assert single.status_code in (200, 400), single.text
    bad = planted(a_message(), path, edge)
    batch = outside.post(
        "/v1/batch", content=f'{{"batch": [{json.dumps(a_message())}, {bad}]}}', headers=headers
    )
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert body["accepted"] >= 1 and [r["index"] for r in body["rejected"]] in ([], [1]), body
