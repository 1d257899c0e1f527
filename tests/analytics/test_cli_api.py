"""`touchpoint report` as a user runs it, `GET /v1/analytics/{name}`, and the plots they draw."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.analytics.conftest import LIFECYCLE_REPORTS, Lab
from tests.analytics.history import load_history
from touchpoint.analytics.reports import ReportRequest, load_reports
from touchpoint.analytics.sources import open_sources
from touchpoint.cli import app
from touchpoint.errors import BackendError, ValidationError
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    load_history(Lab(tp, "duckdb"))
    tp.close()
    return tmp_path


def touchpoint(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", *args]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": ""},
    )


def invoke(*args: str, data_dir: Path) -> str:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_prints_a_table_csv_and_json(data_dir: Path) -> None:
    table = invoke("report", "funnel", data_dir=data_dir)
    assert "Lifecycle funnel" in table and "acquisition" in table
    as_csv = invoke(
        "report",
        "transitions",
        "--format",
        "csv",
        "--from",
        "2026-02-01",
        "--to",
        "2026-04-01",
        data_dir=data_dir,
    )
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert sum(int(r["transitions"]) for r in rows) == 7
    body = orjson.loads(
        invoke("report", "churn", "--by", "segment", "--format", "json", data_dir=data_dir)
    )
    assert body["columns"][0] == {"name": "by", "type": "string"}
    assert {r["by"] for r in body["rows"]} == {"DE", "unknown", "vip"}


def test_a_report_mistake_is_a_one_line_error(tmp_path: Path) -> None:
    result = touchpoint("report", "nope", data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.replace("\n", " ").startswith(
        "error: unknown report 'nope'; choose from: "
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "--from", "last tuesday"], "--from: 'last tuesday' is not a date or date-time"),
        (["funnel", "--to", "1767225600"], "--to: '1767225600' is a number, not a moment"),
        (["funnel", "--by", "stage"], "report 'funnel' cannot be broken down by 'stage'"),
        (["kpis", "--by", "channel"], "report 'kpis' cannot be broken down by 'channel'"),
        (
            ["funnel", "--from", "2026-03-01", "--to", "2026-02-01"],
            "the period is empty: from 2026-03-01 00:00 is not before to 2026-02-01 00:00",
        ),
        (["composition", "--interval", "year"], "unknown interval 'year'"),
        (["funnel", "--format", "xml"], "unknown --format 'xml'"),
        (["funnel", "--plot", "x.svg"], "--plot must end in .html or .png"),
        (["funnel", "--engine", "oracle"], "unknown engine 'oracle'"),
    ],
)
def test_report_mistakes_are_validation_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """The CLI prints ValidationError as one line (cli.main), as the test above shows."""
    result = CliRunner().invoke(app, ["report", *args, "--data-dir", str(tmp_path)])
    assert isinstance(result.exception, ValidationError)
    assert str(result.exception).startswith(message)


def test_report_plot_writes_html_and_png(data_dir: Path) -> None:
    html, png = data_dir / "map.html", data_dir / "funnel.png"
    invoke("report", "transitions", "--plot", str(html), data_dir=data_dir)
    text = html.read_text()
    assert '"type":"sankey"' in text.replace(" ", "")
    assert '<script src="http' not in text and len(text) > 1_000_000  # plotly.js inlined: offline
    invoke("report", "funnel", "--plot", str(png), data_dir=data_dir)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_report_draws_a_figure(data_dir: Path) -> None:
    from datetime import UTC, datetime

    request = ReportRequest(start=None, end=None, by=None, at=datetime(2026, 6, 1, tzinfo=UTC))
    reports = load_reports()
    with open_sources(Settings(data_dir=data_dir)) as sources:
        for name in LIFECYCLE_REPORTS:
            result = reports[name].run(sources, request)
            figure = reports[name].plot(result)
            assert figure.data, name
            assert figure.layout.title.text == result.title


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_api_runs_reports_with_a_read_key(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    load_history(Lab(tp, "duckdb"))
    response = client.get(
        "/v1/analytics/transitions?from=2026-02-01&to=2026-04-01", headers=_bearer(read_key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["name"] for c in body["columns"]] == [
        "from_stage",
        "to_stage",
        "transitions",
        "customers",
    ]
    assert sum(r["transitions"] for r in body["rows"]) == 7
    by = client.get("/v1/analytics/funnel?by=channel", headers=_bearer(read_key)).json()
    # No touch of the history carries a source or medium: all came Direct.
    assert {r["by"] for r in by["rows"]} == {"Direct"}
    monthly = client.get("/v1/analytics/composition?interval=week", headers=_bearer(read_key))
    assert monthly.status_code == 200


def test_api_refuses_bad_requests(client: TestClient, read_key: str, ingest_key: str) -> None:
    assert client.get("/v1/analytics/funnel").status_code == 401
    assert client.get("/v1/analytics/funnel", headers=_bearer(ingest_key)).status_code == 403
    assert client.get("/v1/analytics/nope", headers=_bearer(read_key)).status_code == 422
    bad_by = client.get("/v1/analytics/kpis?by=channel", headers=_bearer(read_key))
    assert bad_by.status_code == 422 and "cannot be broken down" in bad_by.json()["detail"]
    bad_date = client.get("/v1/analytics/funnel?from=yesterday", headers=_bearer(read_key))
    assert bad_date.status_code == 422


def test_openapi_lists_the_report_names(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/analytics/{name}"]["get"]
    name = next(p for p in operation["parameters"] if p["name"] == "name")
    schema = spec["components"]["schemas"][name["schema"]["$ref"].split("/")[-1]]
    assert set(LIFECYCLE_REPORTS) <= set(schema["enum"])
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "by", "interval"}


def test_a_failed_engine_is_a_documented_503(
    client: TestClient, read_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise BackendError("the analytics refresh failed: IO Error: the copy is locked")

    monkeypatch.setattr("touchpoint.api.analytics.run_report", broken)
    response = client.get("/v1/analytics/funnel", headers=_bearer(read_key))
    assert response.status_code == 503
    assert response.json() == {
        "detail": "the analytics refresh failed: IO Error: the copy is locked"
    }
    documented = client.get("/openapi.json").json()["paths"]["/v1/analytics/{name}"]["get"]
    assert "503" in documented["responses"]
