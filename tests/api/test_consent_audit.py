"""Consent changes are in the audit trail (issue 9 §3): an interaction that grants, withdraws
or unsubscribes — sent to /v1/interactions, its batch or Segment's API — is recorded with the
key that sent it, the customer and the interaction; a resend (a duplicate) and interactions
that change no consent add nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import keys as key_service
from touchpoint.store.engine import write_transaction


def _key(tp: Touchpoint, scope: str) -> tuple[str, str]:
    with write_transaction(tp.engine) as conn:
        key, secret = key_service.create_key(conn, scope=scope)
    return key.id, secret


def _consent_trail(client: TestClient, admin: str) -> list[dict]:
    answer = client.get("/v1/audit?action=consent.change", headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))


def test_a_consent_change_is_recorded_with_the_key_that_sent_it(
    client: TestClient, tp: Touchpoint
) -> None:
    _admin_id, admin = _key(tp, "admin")
    sender_id, sender = _key(tp, "ingest")
    withdrawn = interaction(
        type="consent_withdrawn",
        channel="email",
        email="cw@example.com",
        properties={"purpose": "marketing"},
        at=5,
    )
    results = send(
        client,
        sender,
        interaction(email="cw@example.com", at=0),  # no consent in it
        withdrawn,
        interaction(type="unsubscribe", channel="email", email="un@example.com", at=6),
    )
    customer = results[1]["customer_id"] if "customer_id" in results[1] else None
    trail = _consent_trail(client, admin)
    assert [(e["actor"], e["detail"]["type"], e["detail"]["interaction"]) for e in trail] == [
        (sender_id, "consent_withdrawn", withdrawn["id"]),
        (sender_id, "unsubscribe", results[2]["id"]),
    ]
    assert trail[0]["detail"]["channel"] == "email"
    assert trail[0]["detail"]["purpose"] == "marketing"
    assert trail[0]["subject"] and trail[0]["subject"] != trail[1]["subject"]
    assert customer is None  # an ingest key is not told who the customer is; the trail is

    send(client, sender, withdrawn)  # sent again: a duplicate, nothing changed
    assert len(_consent_trail(client, admin)) == 2


def test_segment_calls_that_change_consent_are_recorded(client: TestClient, tp: Touchpoint) -> None:
    """Segment's `Unsubscribed` event is an unsubscribe (segment_events.toml), on its track
    endpoint and in a batch; a single /v1/interactions consent change too."""
    _admin_id, admin = _key(tp, "admin")
    sender_id, sender = _key(tp, "ingest")
    message = {
        "userId": "u-77",
        "event": "Unsubscribed",
        "messageId": "m-unsub-1",
        "timestamp": "2026-03-01T10:00:00Z",
    }
    track = client.post("/v1/track", json=message, headers=bearer(sender))
    assert track.status_code == 200, track.text
    batch = {"batch": [{**message, "type": "track", "messageId": "m-unsub-2"}]}
    assert client.post("/v1/batch", json=batch, headers=bearer(sender)).status_code == 200
    granted = interaction(type="consent_granted", channel="sms", phone="+16465550100", at=2)
    one = client.post("/v1/interactions", json=granted, headers=bearer(sender))
    assert one.status_code == 201, one.text
    trail = _consent_trail(client, admin)
    assert [(e["actor"], e["detail"]["type"], e["detail"]["interaction"]) for e in trail] == [
        (sender_id, "unsubscribe", "m-unsub-1"),
        (sender_id, "unsubscribe", "m-unsub-2"),
        (sender_id, "consent_granted", granted["id"]),
    ]
    assert trail[0]["subject"] == trail[1]["subject"] != trail[2]["subject"]
