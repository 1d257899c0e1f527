"""Scores' faces: GET /v1/scores, /v1/scores/{model}, /v1/customers/{id}/scores and the customer
view's scores; PUT /v1/scores for an admin (a bad file a 422 naming the rule, nothing changed);
`touchpoint score list|show|apply` and `customer show`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.builders import T0, interaction
from tests.projections.test_scores import MODELS, at_day
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_api_gives_models_and_a_customer_s_breakdown(
    tp: Touchpoint, client: TestClient, read_key: str, admin_key: str
) -> None:
    applied = client.put("/v1/scores", json={"source": MODELS}, headers=bearer(admin_key))
    assert applied.status_code == 200, applied.text
    assert applied.json() == {"models": ["lead"], "customers": 0, "events": 0}
    report = tp.ingestor.ingest(
        enumerate(
            [
                interaction(id="p", type="purchase", at=0, email="a@example.com"),
                interaction(id="v", type="page_view", at=at_day(10), email="a@example.com"),
            ]
        )
    )
    cid = report.results[0].customer_id
    day20 = (T0 + timedelta(days=20)).isoformat()
    got = client.get(f"/v1/customers/{cid}/scores", params={"at": day20}, headers=bearer(read_key))
    assert got.status_code == 200, got.text
    (lead,) = got.json()["scores"]
    # the purchase: 40 after two half-lives = 10; the visit: 2 after one = 1
    assert lead["model"] == "lead" and abs(lead["score"] - 11.0) < 1e-9
    assert [(a["rule"], a["interaction_id"], a["points"]) for a in lead["awards"]] == [
        ("visit", "v", 2.0),
        ("buy", "p", 40.0),
    ]
    assert [(r["rule"], round(r["points"], 9)) for r in lead["by_rule"]] == [
        ("buy", 10.0),
        ("visit", 1.0),
    ]
    assert [c["kind"] for c in lead["crossings"]] == ["score_rose_above", "score_fell_below"]
    view = client.get(f"/v1/customers/{cid}", headers=bearer(read_key)).json()
    assert [s["model"] for s in view["scores"]] == ["lead"]
    listed = client.get("/v1/scores", params={"at": day20}, headers=bearer(read_key)).json()
    assert [(m["name"], m["customers"], m["above"]) for m in listed["models"]] == [
        ("lead", 1, {"25": 0})
    ]
    shown = client.get("/v1/scores/lead", params={"at": day20}, headers=bearer(read_key))
    assert shown.json()["top"][0]["customer_id"] == cid


def test_a_bad_file_over_the_api_is_a_422_naming_the_rule(
    tp: Touchpoint, client: TestClient, admin_key: str, read_key: str
) -> None:
    moment = {"at": "2026-03-01"}
    before = client.get("/v1/scores", params=moment, headers=bearer(read_key)).json()
    bad = MODELS.replace('type = "purchase"', 'type = "purchase"\ncapp = 3')
    answer = client.put("/v1/scores", json={"source": bad}, headers=bearer(admin_key))
    assert answer.status_code == 422
    assert (
        "rule 'buy'" in answer.json()["detail"] and "unknown key 'capp'" in answer.json()["detail"]
    )
    assert client.get("/v1/scores", params=moment, headers=bearer(read_key)).json() == before
    assert client.get("/v1/scores/nope", headers=bearer(read_key)).status_code == 404
    assert client.get("/v1/scores?at=yesterday", headers=bearer(read_key)).status_code == 422


def touchpoint(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from touchpoint.cli import main; main()",
            *args,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_the_cli_lists_shows_and_applies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tp = open_touchpoint(Settings(data_dir=data))
    try:
        tp.ingestor.ingest(
            [(0, interaction(id="p", type="purchase", at=0, email="kim@example.com"))]
        )
    finally:
        tp.close()
    listed = touchpoint("score", "list", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    assert "lead" in listed.stdout and "engagement" in listed.stdout  # the shipped file
    good = tmp_path / "lead.toml"
    good.write_text(MODELS)
    applied = touchpoint("score", "apply", str(good), data_dir=data)
    assert applied.returncode == 0, applied.stderr
    assert "1 customers rescored from 1 interactions" in applied.stdout
    shown = touchpoint("score", "show", "lead", data_dir=data)
    assert "buy" in shown.stdout and "+40" in shown.stdout
    customer = touchpoint("customer", "show", "kim@example.com", data_dir=data)
    assert customer.returncode == 0, customer.stderr
    assert "Score lead" in customer.stdout and "buy" in customer.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(MODELS.replace("points = 40", "points = 0"))
    refused = touchpoint("score", "apply", str(bad), data_dir=data)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert (
        "bad.toml: model 'lead', rule 'buy' (line 8): points must be a number other than 0" in line
    )
    assert "+40" in touchpoint("score", "show", "lead", data_dir=data).stdout  # still in force
