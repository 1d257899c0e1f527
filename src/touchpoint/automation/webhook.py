"""Webhook calls for playbooks: a JSON POST with a delivery id, signed as
`Touchpoint-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` with the endpoint's secret, so
the receiver can check it came from Touchpoint and refuse replays older than it allows."""

from __future__ import annotations

import hashlib
import hmac
import urllib.request
from typing import Any

import orjson

TIMEOUT_SECONDS = 10.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post(url: str, payload: dict[str, Any], *, secret: str, timestamp: int) -> int:
    """POST the payload; returns the status (an error status or no answer raises OSError)."""
    body = orjson.dumps(payload)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Touchpoint-Signature": signature(secret, timestamp, body),
            "Touchpoint-Delivery": str(payload["delivery_id"]),
        },
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        return int(response.status)
