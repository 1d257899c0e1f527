"""`--at` / `?at=`: a report takes "now" as the given moment (who was at risk then)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from tests.test_cli import touchpoint
from touchpoint.runtime import Touchpoint

BOUGHT = datetime(2026, 1, 5, 12, tzinfo=UTC)  # then silence: at risk 90 days later (default model)


def purchase() -> dict:
    return interaction(type="purchase", at=BOUGHT, revenue=30.0, email="quiet@example.com")


def test_cli_at_risk_as_it_stood_at_a_moment(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(orjson.dumps(purchase()) + b"\n")
    data = tmp_path / "data"
    assert touchpoint("import", str(events), data_dir=data).returncode == 0
    assert touchpoint("lifecycle", "tick", "--now", "2026-06-01", data_dir=data).returncode == 0

    def at_risk(at: str) -> list[dict]:
        run = touchpoint("report", "at-risk", "--at", at, "--format", "json", data_dir=data)
        assert run.returncode == 0, run.stderr
        return orjson.loads(run.stdout)["rows"]

    assert at_risk("2026-02-01") == []
    (row,) = at_risk("2026-05-01")
    assert row["since"].startswith("2026-04-05")  # 90 days after the purchase
    bad = touchpoint("report", "at-risk", "--at", "soon", data_dir=data)
    assert bad.returncode == 1 and "--at: 'soon' is not a date or date-time" in bad.stderr


def test_api_at_risk_as_it_stood_at_a_moment(
    tp: Touchpoint, client: TestClient, ingest_key: str, read_key: str
) -> None:
    send(client, ingest_key, purchase())
    tp.projections.tick(datetime(2026, 6, 1, tzinfo=UTC))

    def at_risk(at: str) -> list[dict]:
        response = client.get("/v1/analytics/at-risk", params={"at": at}, headers=bearer(read_key))
        assert response.status_code == 200, response.text
        return response.json()["rows"]

    assert at_risk("2026-02-01") == []
    assert len(at_risk("2026-05-01T00:00:00Z")) == 1
    bad = client.get("/v1/analytics/at-risk", params={"at": "soon"}, headers=bearer(read_key))
    assert bad.status_code == 422 and "soon" in bad.json()["detail"]
