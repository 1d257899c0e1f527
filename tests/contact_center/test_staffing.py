"""`touchpoint cc staffing` and `GET /v1/cc/staffing`: the worked example (Call Centre Helper's,
in STACK-NOTES: 14 agents, SL 0.888, P(wait) 0.174, occupancy 0.714, 20 with 30% shrinkage),
Erlang A with patience, the reverse question, "unstable" for too few agents, and bad input
refused naming the field. Staffing reads no data, so SQLite alone serves the API's keys."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.http import bearer
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.cli.app import app, main
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings

EXAMPLE = ["--volume", "100", "--interval", "30m", "--aht", "180", "--target", "80/20"]


@pytest.fixture
def local(sqlite_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    tp: Touchpoint = open_touchpoint(sqlite_settings)
    with TestClient(create_app(tp)) as client:
        yield client, new_key(tp, "read")
    tp.close()


def _cli_json(*args: str) -> dict:
    ran = CliRunner().invoke(app, ["cc", "staffing", *args, "--format", "json"])
    assert ran.exit_code == 0, ran.output
    return orjson.loads(ran.stdout)


def test_the_worked_example_from_the_command_line() -> None:
    found = _cli_json(*EXAMPLE, "--shrinkage", "0.3")
    assert (found["agents"], found["agents_with_shrinkage"]) == (14, 20)
    assert found["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert found["wait_probability"] == pytest.approx(0.174, abs=5e-4)
    assert found["occupancy"] == pytest.approx(0.714, abs=5e-4)
    assert found["asa_s"] == pytest.approx(0.1741 * 180 / 4, abs=0.01)  # Pw·AHT/(N−A)
    assert 13 < found["agents_fractional"] <= 14
    assert "abandon_rate" not in found
    table = CliRunner().invoke(app, ["cc", "staffing", *EXAMPLE])
    assert "88.84%" in table.stdout and "17.41%" in table.stdout


def test_patience_gives_erlang_a_and_an_abandon_rate() -> None:
    found = _cli_json(*EXAMPLE, "--patience", "120")
    assert found["model"] == "erlang-a"
    assert found["agents"] < 14  # callers hanging up shorten the line
    assert 0 < found["abandon_rate"] < 0.2
    assert found["service_level"] >= 0.8


def test_the_reverse_question_and_too_few_agents() -> None:
    twelve = _cli_json(*EXAMPLE, "--agents", "12")
    # Erlang C by hand for 12 agents on 10 E: B(12, 10) = 0.11974, C = 12B / (12 - 10(1 - B))
    # = 0.44939, SL = 1 - C·exp(-2·20/180) = 0.64016
    assert twelve["wait_probability"] == pytest.approx(0.44939, abs=5e-5)
    assert twelve["service_level"] == pytest.approx(0.64016, abs=5e-5)
    assert twelve["meets_target"] is False
    ten = _cli_json(*EXAMPLE, "--agents", "10")
    assert ten["stable"] is False and ten["service_level"] is None
    assert ten["note"].startswith("unstable: queue grows without bound")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--interval", "half an hour"], "interval"),
        (["--target", "80"], "target"),
        (["--shrinkage", "1"], "shrinkage"),
        (["--max-occupancy", "0"], "max_occupancy"),
        (["--patience", "-5"], "patience"),
        (["--agents", "0"], "agents"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_flags_are_one_line_errors(
    flags: list[str], named: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setattr(
        "sys.argv", ["touchpoint", "cc", "staffing", "--volume", "100", "--aht", "180", *flags]
    )
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err


def test_over_http(local: tuple[TestClient, str]) -> None:
    client, key = local
    params = {"volume": 100, "interval": "30m", "aht": 180, "target": "80/20", "shrinkage": 0.3}
    answer = client.get("/v1/cc/staffing", params=params, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["agents"], body["agents_with_shrinkage"]) == (14, 20)
    assert body["service_level"] == pytest.approx(0.8884, abs=5e-5)
    unstable = client.get(
        "/v1/cc/staffing", params={**params, "agents": 9}, headers=bearer(key)
    ).json()
    assert unstable["stable"] is False and "unstable" in unstable["note"]
    refused = client.get("/v1/cc/staffing", params={**params, "target": "80%"}, headers=bearer(key))
    assert refused.status_code == 422 and "target" in refused.text
    missing = client.get("/v1/cc/staffing", params={"volume": 100}, headers=bearer(key))
    assert missing.status_code == 422 and "aht" in missing.text
    assert client.get("/v1/cc/staffing", params=params).status_code == 401
