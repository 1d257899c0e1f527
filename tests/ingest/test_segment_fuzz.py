"""Fuzz Segment batch bodies through the API (issue 9 §1): Hypothesis builds `/v1/batch` bodies of
messages with hostile fields (any JSON value: NaN, integers past 64 bits, lone surrogates
escaped, NUL, nesting, numbers for moments, wrong types) beside good ones, sent as JSON text.
Every answer is a documented 200 or 400, never a 5xx; a 200 accounts for each message once —
stored, a duplicate, or rejected by its index with a reason — the log grows by what was
accepted, and sending the body again stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.api.test_segment_api import basic
from tests.ingest.hostile import json_values, nasty_text
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = [
    "type",
    "userId",
    "anonymousId",
    "messageId",
    "previousId",
    "event",
    "timestamp",
    "sentAt",
    "properties",
    "traits",
    "context",
    "name",
    "groupId",
]
_bodies = count(1)


@pytest.fixture
def outside(tp: Touchpoint) -> Iterator[TestClient]:
    """A client that sees a server error as a 500 answer, as a client outside would."""
    with TestClient(create_app(tp), raise_server_exceptions=False) as client:
        yield client


def log_size(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(interactions)) or 0)


@st.composite
def messages(draw: st.DrawFn, ids: list[str]) -> Any:
    if draw(st.integers(0, 9)) == 0:  # not even an object
        return draw(json_values(ids))
    message: dict[str, Any] = {
        "type": draw(st.sampled_from(["track", "identify", "page", "screen", "alias", "group"])),
        "messageId": draw(st.sampled_from(ids)),
        "userId": draw(st.sampled_from(["u-1", "u-2", "undefined"])),
        "anonymousId": draw(st.sampled_from(["dev-1", "dev-2", "null"])),
        "event": "Order Completed",
        "previousId": "dev-1",
        "groupId": "acme",
        "timestamp": draw(st.sampled_from(["2026-03-01T09:30:00Z", "2026-03-01T09:30:00"])),
        "properties": {"revenue": 10},
    }
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            message[field] = draw(json_values(ids))
        else:
            message.pop(field, None)
    return message


@st.composite
def batch_bodies(draw: st.DrawFn) -> tuple[str, int]:
    """A /v1/batch body as JSON text, and how many messages it holds."""
    n = next(_bodies)
    ids = [f"b{n}-m{k}" for k in range(3)]
    batch = draw(st.lists(messages(ids), max_size=6))
    body: dict[str, Any] = {"batch": batch}
    if draw(st.booleans()):
        body["context"] = draw(json_values(ids))
    if draw(st.booleans()):
        body["sentAt"] = draw(st.one_of(nasty_text, json_values(ids)))
    return json.dumps(body), len(batch)  # NaN as NaN, a lone surrogate as its escape


@FUZZ
@given(sent=batch_bodies())
def test_a_hostile_segment_batch_is_answered_message_by_message(
    outside: TestClient, ingest_key: str, tp: Touchpoint, sent: tuple[str, int]
) -> None:
    text, size = sent
    headers = {**basic(ingest_key), "Content-Type": "application/json"}
    before = log_size(tp)
    answer = outside.post("/v1/batch", content=text, headers=headers)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:  # the body as a whole is refused: nothing stored
        event("refused whole")
        assert log_size(tp) == before
        assert isinstance(answer.json()["detail"], str)
        return
    body = answer.json()
    indices = [r["index"] for r in body["rejected"]]
    assert len(set(indices)) == len(indices) and all(0 <= i < size for i in indices)
    assert all(r["reason"] for r in body["rejected"])
    assert body["accepted"] + body["duplicates"] + len(indices) == size, body
    assert log_size(tp) - before == body["accepted"]
    event("some accepted" if body["accepted"] else "none accepted")
    again = outside.post("/v1/batch", content=text, headers=headers).json()
    assert again["accepted"] == 0 and log_size(tp) - before == body["accepted"]
    assert again["duplicates"] + len(again["rejected"]) == size
    # Sent again, a message is refused again, or a duplicate — or, when it carries no time at
    # all (dated when it arrived), a conflict on that time: its resend arrived later.
    newly = {r["index"]: r["reason"] for r in again["rejected"] if r["index"] not in indices}
    assert set(indices) <= {r["index"] for r in again["rejected"]}
    assert all("(fields: occurred_at)" in reason for reason in newly.values()), newly
