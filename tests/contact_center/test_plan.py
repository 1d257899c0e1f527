"""The staffing plan (contact_center.plan): agents per interval on the worked Erlang C example,
a shift cover whose optimum follows by hand, the CSV and the heatmap; then `touchpoint cc plan`
with --csv and --plot, and GET /v1/cc/plan."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.http import bearer
from tests.builders import interaction
from touchpoint.cli.app import app
from touchpoint.contact_center import forecast, plan
from touchpoint.runtime import Touchpoint

UTC_ZONE = ZoneInfo("UTC")


def _arrivals(rows: list[tuple[datetime, float]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"queue": "q", "interval_start": at, "expected": e} for at, e in rows],
        schema=forecast.ARRIVALS_SCHEMA,
    )


def test_each_interval_gets_the_erlang_c_agents_and_shrinkage() -> None:
    # the worked example: 100 calls in 30 minutes, AHT 180 s, 80/20 -> 14 agents, 20 at 30%
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    found = plan.needs(
        _arrivals([(at, 100.0), (at + timedelta(minutes=30), 0.0)]),
        interval_min=30,
        aht_s={"q": 180.0},
        targets={"q": (0.8, 20.0)},
        zones={},
        shrinkage=0.3,
    )
    assert [(n.agents, n.scheduled) for n in found] == [(14, 20), (0, 0)]
    assert found[0].traffic_erlangs == pytest.approx(10.0)
    assert found[0].service_level == pytest.approx(0.8884, abs=5e-5)


def _need(hour: int, scheduled: int, day: date = date(2026, 3, 2)) -> plan.Need:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return plan.Need("q", at, at.astimezone(UTC_ZONE), 1.0, 1.0, scheduled, scheduled, 0.9)


def test_the_shift_cover_is_the_cheapest_by_hand() -> None:
    # 2 agents 08:00-16:00 and 1 agent 16:00-20:00, 8-hour shifts on the hour: two 08-16
    # shifts and one covering 16-20 (starting 12:00 to 16:00) = 3 shifts, 24 agent-hours;
    # the intervals need 2*8 + 1*4 = 20.
    needs = [_need(h, 2) for h in range(8, 16)] + [_need(h, 1) for h in range(16, 20)]
    needs += [_need(h, 0) for h in (*range(0, 8), *range(20, 24))]
    cover = plan.shift_cover(needs, interval_min=60)
    assert cover.status == "OPTIMAL"
    assert (cover.agent_hours, cover.needed_hours) == (24.0, 20.0)
    assert sum(s.agents for s in cover.shifts) == 3
    for hour in range(8, 20):  # every interval covered
        on = sum(s.agents for s in cover.shifts if int(s.start[:2]) <= hour < int(s.end[:2]))
        assert on >= (2 if hour < 16 else 1)


def test_no_demand_needs_no_shift() -> None:
    cover = plan.shift_cover([_need(h, 0) for h in range(24)], interval_min=60)
    assert (cover.agent_hours, cover.shifts) == (0.0, ())


def test_csv_and_heatmap(tmp_path) -> None:
    needs = [_need(h, 2) for h in range(8, 16)]
    plan.write_csv(needs, tmp_path / "plan.csv")
    with (tmp_path / "plan.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and rows[0]["scheduled"] == "2"
    assert rows[0]["interval_start"] == "2026-03-02T08:00:00+00:00"
    plan.write_heatmap(needs, tmp_path / "heat.html", interval_min=60)
    assert "Agents to schedule" in (tmp_path / "heat.html").read_text()
    fig = plan.heatmap(needs, interval_min=60)
    z = fig.data[0].z
    assert z[0][8] == 2 and z[0][7] == 0 and z[1][8] == 0  # Monday 08:00; Tuesday nothing


def test_the_plan_from_the_command_line_and_over_http(
    tp: Touchpoint, client: TestClient, read_key: str, tmp_path
) -> None:
    now = datetime.now(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    log = [
        interaction(
            type="call",
            channel="phone",
            direction="inbound",
            at=today - timedelta(days=d) + timedelta(hours=10, minutes=5),
            queue="sales",
            agent="ana",
            duration_s=300,
            external_id=f"p{d}",
        )
        for d in range(1, 22)
    ]
    report = tp.ingestor.ingest(enumerate(log))
    assert not report.rejected, report.rejected
    answer = client.get(
        "/v1/cc/plan",
        params={"interval": "60m", "history_weeks": 2, "holdout_weeks": 1, "shrinkage": 0.5},
        headers=bearer(read_key),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # one call a day at 10:xx, 300 s: 1 agent on the phones 10:00-11:00, 2 with 50% shrinkage;
    # one 8-hour shift of 2 agents a day covers it: 16 agent-hours a day
    (cover,) = body["covers"]
    assert cover["agent_hours"] == 7 * 16.0 and cover["needed_hours"] == 7 * 2.0
    tens = [n for n in body["needs"] if n["interval_start"][11:13] == "10"]
    assert len(tens) == 7 and {(n["agents"], n["scheduled"]) for n in tens} == {(1, 2)}
    assert date.fromisoformat(body["start"]).weekday() == 0  # the coming Monday
    refused = client.get("/v1/cc/plan", params={"shrinkage": 1.5}, headers=bearer(read_key))
    assert refused.status_code == 422 and "shrinkage" in refused.text
    if tp.engine.dialect.name == "sqlite":
        out, png = tmp_path / "plan.csv", tmp_path / "heat.png"
        ran = CliRunner().invoke(
            app,
            [
                "cc",
                "plan",
                "--interval",
                "60m",
                "--history-weeks",
                "2",
                "--holdout-weeks",
                "1",
                "--csv",
                str(out),
                "--plot",
                str(png),
                "--data-dir",
                str(tp.settings.data_dir),
            ],
        )
        assert ran.exit_code == 0, ran.output
        assert "agent-hours" in ran.stdout.replace("\n", " ") or "shift cover" in ran.stdout
        assert len(out.read_text().splitlines()) == 1 + 7 * 24
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
