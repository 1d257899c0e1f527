"""The simulation through its service and faces, on SQLite and PostgreSQL: the history read from
the log (a hand-built one, its fits worked out below), `touchpoint cc simulate` and
`POST /v1/cc/simulate`, their refusals naming the field or line.

The log: queue support, on Monday 2 March 2026 at 10:05 (answered after 10 s, 300 s talk) and
10:20 (abandoned after 25 s), Tuesday 3 March at 09:00 (answered after 5 s, 200 s), Monday
9 March at 10:10 (answered after 40 s, 400 s). Two Mondays in the span: the 10:00-10:30
interval of a Monday expects (2 + 1) / 2 = 1.5 contacts, and nothing else on a Monday. Patience
on the phone: 1 gave up over 10 + 25 + 5 + 40 = 80 s waited: exponential, mean 80 s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.analytics.conftest import Lab
from tests.api.http import bearer
from tests.builders import interaction
from touchpoint.api import simulation as simulation_api
from touchpoint.cli import app
from touchpoint.contact_center.simulation_scenarios import parse_scenarios
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config
from touchpoint.services.simulation import simulate

CONFIG = """
[queues.support]
channels = ["phone"]
target = "80/20"

[agents.ana]
queues = ["support"]

[agents.bo]
queues = ["support"]
"""


def call(who: str, at: datetime, wait: float, talk: float | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"agent": "ana", "duration_s": talk} if talk else {}
    return interaction(
        id=f"cc-{who}",
        type="call",
        channel="phone",
        direction="inbound",
        at=at,
        external_id=who,
        queue="support",
        outcome="answered" if talk else "abandoned",
        properties={"wait_s": wait},
        **fields,
    )


LOG = [
    call("a", datetime(2026, 3, 2, 10, 5, tzinfo=UTC), 10, 300),
    call("b", datetime(2026, 3, 2, 10, 20, tzinfo=UTC), 25, None),
    call("c", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), 5, 200),
    call("d", datetime(2026, 3, 9, 10, 10, tzinfo=UTC), 40, 400),
]


@pytest.fixture
def center(tp: Touchpoint) -> Touchpoint:
    apply_config(tp, text=CONFIG, actor="test")
    Lab(tp, "duckdb").ingest(LOG)
    return tp


def test_the_history_s_fits_and_a_what_if_beside_the_baseline(center: Touchpoint) -> None:
    what_if = parse_scenarios('[[scenario]]\nname = "x20"\nvolume = 20\n')
    result = simulate(center, scenarios=what_if, replications=3, weekday="mon")
    assert result.history_contacts == 4
    assert result.day.weekday() == 0 and result.day > datetime(2026, 3, 9, tzinfo=UTC).date()
    (support,) = result.queues
    assert support.expected_contacts == pytest.approx(1.5)
    assert support.patience["phone"].mean_s == pytest.approx(80.0)
    assert support.patience["phone"].kind == "exponential"
    assert support.handle["phone"].kind == "lognormal"
    baseline, scaled = result.scenarios
    assert (baseline.name, scaled.name) == ("baseline", "x20")
    assert scaled.offered.mean is not None and baseline.offered.mean is not None
    assert scaled.offered.mean > baseline.offered.mean
    assert baseline.agents == 2


def test_arrivals_from_the_forecast_are_the_forecast_s_for_the_day(center: Touchpoint) -> None:
    from touchpoint.analytics.sources import open_sources
    from touchpoint.contact_center import forecast

    result = simulate(center, replications=1, weekday="mon", arrivals="forecast")
    with open_sources(center.settings) as sources:
        recent = forecast.contact_history(sources.interactions, until=datetime.now(UTC))
    table = forecast.forecast_arrivals(recent, start=result.day, days=1, queues=["support"])
    expected = sum(table.column("expected").to_pylist())
    assert expected > 0
    assert result.queues[0].expected_contacts == pytest.approx(expected)
    with pytest.raises(ValidationError, match="arrivals"):
        simulate(center, arrivals="guess")


def test_the_command_line_prints_the_scenarios_side_by_side(
    center: Touchpoint, tmp_path: Any
) -> None:
    if center.engine.dialect.name != "sqlite":  # the CLI opens the data directory's SQLite file
        return
    data_dir = ["--data-dir", str(center.settings.data_dir)]
    path = tmp_path / "what-if.toml"
    path.write_text('[[scenario]]\nname = "AHT +20 s"\naht_delta_s = 20\n', encoding="utf-8")
    ran = CliRunner().invoke(
        app,
        [
            "cc",
            "simulate",
            "--scenario",
            str(path),
            "--volume",
            "5",
            "--replications",
            "2",
            "--weekday",
            "mon",
            "--format",
            "json",
            *data_dir,
        ],
    )
    assert ran.exit_code == 0, ran.output
    import orjson

    body = orjson.loads(ran.stdout)
    assert [s["name"] for s in body["scenarios"]] == ["baseline", "AHT +20 s", "volume ×5"]
    table = CliRunner().invoke(app, ["cc", "simulate", "--replications", "2", *data_dir])
    assert table.exit_code == 0, table.output
    assert "service level" in table.stdout and "baseline" in table.stdout
    path.write_text('[[scenario]]\nname = "bad"\nvolume = "lots"\n', encoding="utf-8")
    refused = CliRunner().invoke(app, ["cc", "simulate", "--scenario", str(path), *data_dir])
    assert isinstance(refused.exception, ValidationError)
    assert "line 3: scenario[0].volume" in str(refused.exception)


def test_over_http_with_its_size_limit(
    center: Touchpoint, client: TestClient, read_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = client.post(
        "/v1/cc/simulate",
        json={
            "scenarios": [{"name": "one more", "add_agents": [{"count": 1}]}],
            "replications": 2,
            "weekday": "mon",
        },
        headers=bearer(read_key),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["name"] for s in body["scenarios"]] == ["baseline", "one more"]
    assert body["scenarios"][1]["agents"] == 3
    assert body["queues"][0]["expected_contacts"] == pytest.approx(1.5)
    assert set(body["scenarios"][0]["service_level"]) == {"mean", "low", "high"}
    monkeypatch.setattr(simulation_api, "MAX_CONTACTS", 100)  # 1.5 x 80 x 2 = 240 to simulate
    too_big = client.post(
        "/v1/cc/simulate",
        json={"scenarios": [{"name": "huge", "volume": 80}], "replications": 2, "weekday": "mon"},
        headers=bearer(read_key),
    )
    assert too_big.status_code == 422 and "too large" in too_big.text
    bad = client.post(
        "/v1/cc/simulate",
        json={"scenario_toml": '[[scenario]]\nname = "x"\nfewer_agents = [{ count = 0 }]\n'},
        headers=bearer(read_key),
    )
    assert bad.status_code == 422 and "line 3: scenario[0].fewer_agents[0].count" in bad.text
    many = client.post("/v1/cc/simulate", json={"replications": 21}, headers=bearer(read_key))
    assert many.status_code == 422 and "replications" in many.text
