"""HTTP helpers shared by the API tests."""

from __future__ import annotations

from fastapi.testclient import TestClient


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def send(client: TestClient, key: str, *items: dict) -> list[dict]:
    """POST interactions as one batch; the per-item results."""
    response = client.post(
        "/v1/interactions/batch", json={"interactions": list(items)}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]
