"""GET /v1/projections: each projection's checkpoint and lag, for operators."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.builders import interaction
from touchpoint.runtime import Touchpoint


def test_the_lag_of_a_deferred_batch_shows_until_the_catch_up(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    headers = {"Authorization": f"Bearer {read_key}"}
    tp.ingestor.ingest([(0, interaction(id="a", type="signup", email="a@example.com"))])
    tp.ingestor.ingest([(0, interaction(id="b", type="signup", email="b@example.com"))], bulk=True)
    status, consent, _scores, _segments = client.get("/v1/projections", headers=headers).json()
    assert consent["name"] == "consent" and consent["lag"] == 1  # behind alike
    assert (status["name"], status["checkpoint"], status["log_position"], status["lag"]) == (
        "lifecycle",
        1,
        2,
        1,
    )
    assert status["needs_replay"] is False
    tp.projections.catch_up()
    status, _consent, _scores, _segments = client.get("/v1/projections", headers=headers).json()
    assert (status["checkpoint"], status["lag"]) == (2, 0)


def test_projections_need_a_read_key(client: TestClient) -> None:
    assert client.get("/v1/projections").status_code == 401
