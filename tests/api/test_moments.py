"""One rule for moments on every face: the same text gives the same moment, or the same error,
through the CLI's `--at/--from/--to/--now` and the API's `?at=`/`?from=` on both endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.http import bearer, send
from tests.builders import interaction
from touchpoint.cli import app
from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.errors import ValidationError
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

PURCHASE = interaction(
    type="purchase", at=datetime(2026, 1, 5, 12, tzinfo=UTC), revenue=30.0, email="m@example.com"
)

# Text -> the moment it names, worked out by hand.
READ = [
    ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),  # a date: its midnight UTC
    ("2026-03-01T12:30", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),  # no zone: UTC
    ("2026-03-01T12:30:15Z", datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)),
    ("2026-03-01 14:30:15+02:00", datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)),
    ("2026-03-01t09:30:15.250-03:00", datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)),
    ("1899-12-31T23:30:00-01:00", datetime(1900, 1, 1, 0, 30, tzinfo=UTC)),  # 1900 in UTC
]
# Text -> how the error goes on after "FIELD: 'text' ".
REFUSED = [
    ("1772368200", "is a number, not a moment"),  # epoch seconds are not guessed at
    ("0.5", "is a number, not a moment"),
    ("20260301", "is a number, not a moment"),
    ("soon", "is not a date or date-time"),
    ("2026-W09-7", "is not a date or date-time"),
    ("", "is not a date or date-time"),
    ("2026-02-30", "is not a valid moment (day is out of range for month)"),
    ("2026-03-01T24:00", "is not a valid moment (hour must be in 0..23)"),
    ("1899-12-31T23:30:00Z", "is before 1900"),
]
EXAMPLE = "use an ISO 8601 date (2026-03-01, midnight UTC)"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded Touchpoint holding one purchase, for the CLI."""
    path = tmp_path_factory.mktemp("moments")
    tp = open_touchpoint(Settings(data_dir=path))
    report = tp.ingestor.ingest([(0, PURCHASE)])
    assert report.accepted == 1
    tp.close()
    return path


def cli(*args: str, data_dir: Path) -> tuple[str, BaseException | None]:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    return result.stdout, result.exception


def cli_error(*args: str, data_dir: Path) -> str:
    _out, exc = cli(*args, data_dir=data_dir)
    assert isinstance(exc, ValidationError), exc
    return str(exc)


def api_get(client: TestClient, key: str, path: str, **params: str) -> dict:
    response = client.get(path, params=params, headers=bearer(key))
    assert response.status_code in (200, 422), response.text
    return {"status": response.status_code, **response.json()}


@pytest.mark.parametrize(("text", "moment"), READ)
def test_the_parser_reads_the_moment(text: str, moment: datetime) -> None:
    parsed = parse_moment(text, "at")
    assert parsed == moment and parsed is not None and parsed.utcoffset() is not None


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_the_parser_names_the_field_and_shows_an_example(text: str, reason: str) -> None:
    with pytest.raises(MomentError) as error:
        parse_moment(text, "--at")
    assert str(error.value).startswith(f"--at: {text!r} {reason}")
    assert EXAMPLE in str(error.value)


@pytest.mark.parametrize(("text", "moment"), READ)
def test_cli_and_both_endpoints_read_the_same_moment(
    text: str, moment: datetime, data_dir: Path, client: TestClient, ingest_key: str, read_key: str
) -> None:
    send(client, ingest_key, PURCHASE)
    summary = api_get(client, read_key, "/v1/lifecycle/summary", at=text)
    assert datetime.fromisoformat(summary["at"]) == moment
    report = api_get(client, read_key, "/v1/analytics/at-risk", at=text, **{"from": text})
    assert datetime.fromisoformat(report["at"]) == moment
    assert datetime.fromisoformat(report["from"]) == moment
    report_args = ("report", "at-risk", "--at", text, "--format", "json", "--engine", "sqlite")
    out, exc = cli(*report_args, data_dir=data_dir)
    assert exc is None, exc
    assert datetime.fromisoformat(orjson.loads(out)["at"]) == moment
    out, exc = cli("lifecycle", "summary", "--at", text, data_dir=data_dir)
    assert exc is None, exc
    assert f"at {moment:%Y-%m-%d %H:%M:%S} UTC" in " ".join(out.split())


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_cli_and_both_endpoints_refuse_the_same_text_alike(
    text: str, reason: str, data_dir: Path, client: TestClient, read_key: str
) -> None:
    expected = f"{text!r} {reason}"
    summary = api_get(client, read_key, "/v1/lifecycle/summary", at=text)
    report = api_get(client, read_key, "/v1/analytics/funnel", at=text)
    period = api_get(client, read_key, "/v1/analytics/funnel", **{"from": text})
    assert summary["status"] == report["status"] == period["status"] == 422
    assert summary["detail"].startswith(f"at: {expected}")
    assert period["detail"] == summary["detail"].replace("at: ", "from: ", 1)
    assert report["detail"] == summary["detail"]  # the whole line: reason and example alike
    said = {
        "--at": cli_error("lifecycle", "summary", "--at", text, data_dir=data_dir),
        "--now": cli_error("lifecycle", "tick", "--now", text, data_dir=data_dir),
        "--from": cli_error("report", "funnel", "--from", text, data_dir=data_dir),
        "--to": cli_error("report", "funnel", "--to", text, data_dir=data_dir),
    }
    for option, message in said.items():
        assert message == summary["detail"].replace("at: ", f"{option}: ", 1), option


def test_tick_lets_time_pass_to_the_moment_given(tmp_path: Path) -> None:
    assert cli("init", data_dir=tmp_path)[1] is None
    out, exc = cli("lifecycle", "tick", "--now", "2026-06-01T01:30:00+02:00", data_dir=tmp_path)
    assert exc is None, exc
    assert "clock at 2026-05-31 23:30:00 UTC" in out
