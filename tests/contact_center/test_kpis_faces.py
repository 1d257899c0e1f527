"""The `contact-center` report through both faces the catalog gives it: `touchpoint report
contact-center --by …` and `GET /v1/analytics/contact-center?by=…`; a contact breakdown asked of
a customer report is refused before anything runs."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.analytics.conftest import Lab
from tests.api.http import bearer
from tests.contact_center.test_kpis import CONFIG, LOG
from touchpoint.cli import app
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config

PERIOD = ["--from", "2026-03-01", "--to", "2026-04-01"]


def test_the_report_from_the_command_line_and_over_http(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    apply_config(tp, text=CONFIG, actor="test")
    Lab(tp, "duckdb").ingest(LOG)
    data_dir = ["--data-dir", str(tp.settings.data_dir)]
    if tp.engine.dialect.name == "sqlite":  # the CLI works on the data directory's SQLite file
        ran = CliRunner().invoke(
            app,
            ["report", "contact-center", "--by", "team", "--format", "json", *PERIOD, *data_dir],
        )
        assert ran.exit_code == 0, ran.output
        teams = {r["team"]: r for r in orjson.loads(ran.stdout)["rows"]}
        assert (teams["beta"]["offered"], teams["beta"]["sl"]) == (3, 0.5)
        refused = CliRunner().invoke(app, ["report", "cohorts", "--by", "queue", *data_dir])
        assert "cannot be broken down by 'queue'" in str(refused.exception)
    answer = client.get(
        "/v1/analytics/contact-center",
        params={"by": "agent", "from": "2026-03-01", "to": "2026-04-01"},
        headers=bearer(read_key),
    )
    assert answer.status_code == 200, answer.text
    agents = {r["agent"]: r for r in answer.json()["rows"]}
    assert (agents["ana"]["answered"], agents["bo"]["callbacks_kept"]) == (3, 1)
    refused = client.get("/v1/analytics/churn", params={"by": "agent"}, headers=bearer(read_key))
    assert refused.status_code == 422
