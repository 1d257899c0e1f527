"""The forecast (contact_center.forecast) on hand-built histories whose forecasts follow by hand:
a steady weekday pattern comes back exactly, weekends empty; a weekly trend continues as the
least-squares line through the weeks says (the stdlib's statistics.linear_regression, not the
code's numpy fit); a holiday of the queue's calendar gets nothing and is left out of the fit;
hours a calendar is closed get nothing; the backtest's naive forecast is the last week known.
Then `touchpoint cc forecast` and GET /v1/cc/forecast on a log."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.http import bearer
from tests.builders import interaction
from touchpoint.cli.app import app
from touchpoint.contact_center import forecast
from touchpoint.domain.calendar import parse_calendar
from touchpoint.runtime import Touchpoint

MONDAY = date(2026, 3, 2)  # the forecasts start here; history is the 8 weeks before
HISTORY_START = MONDAY - timedelta(weeks=8)


def _history(per_day: dict[int, list[tuple[int, int]]], weeks: int = 8) -> pd.DataFrame:
    """Contacts in `queue` "q": for each weekday, (minute of the day, how many), every week;
    a weekday's list may depend on the week through a callable."""
    rows = []
    for w in range(weeks):
        for wd, slots in per_day.items():
            day = HISTORY_START + timedelta(weeks=w, days=wd)
            for minute, n in slots:
                at = pd.Timestamp(day) + pd.Timedelta(minutes=minute)  # naive UTC, as the copy
                rows += [{"queue": "q", "occurred_at": at, "handle_s": 200.0}] * n
    frame = pd.DataFrame(rows)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    return frame


def _expected(table, day: date, hhmm: str) -> float:
    at = datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")
    for row in table.to_pylist():
        if row["interval_start"] == at:
            return row["expected"]
    raise AssertionError(f"no interval at {at}")


WEEKDAYS_ONLY = {wd: [(9 * 60 + 10, 2), (14 * 60 + 5, 1)] for wd in range(5)}


def test_a_steady_weekday_pattern_comes_back_and_weekends_stay_empty() -> None:
    # 3 contacts every weekday (2 at 09:10, 1 at 14:05), none at weekends, 8 weeks: weekday
    # factor 3 / (120/56) = 1.4, deseasonalised level 3 / 1.4 flat, so each weekday gets 3
    # again, 2 in 09:00-09:30 and 1 in 14:00-14:30 (the smoothing mixes in the same shares).
    table = forecast.forecast_arrivals(_history(WEEKDAYS_ONLY), start=MONDAY, days=7)
    assert table.num_rows == 7 * 48
    assert _expected(table, MONDAY, "09:00") == pytest.approx(2.0)
    assert _expected(table, MONDAY, "14:00") == pytest.approx(1.0)
    assert _expected(table, MONDAY, "10:00") == pytest.approx(0.0)
    saturday = MONDAY + timedelta(days=5)
    assert (
        sum(r["expected"] for r in table.to_pylist() if r["interval_start"].date() == saturday) == 0
    )
    assert sum(table.column("expected").to_pylist()) == pytest.approx(15.0)


def test_a_weekly_trend_continues_along_the_least_squares_line() -> None:
    # week w has w + 1 contacts every day at 10:00: every weekday alike (factor 1), the daily
    # totals a step per week; the line through (day, total) continues to the forecast days.
    rows = []
    for w in range(8):
        for d in range(7):
            day = HISTORY_START + timedelta(weeks=w, days=d)
            at = pd.Timestamp(day) + pd.Timedelta(hours=10)
            rows += [{"queue": "q", "occurred_at": at, "handle_s": None}] * (w + 1)
    history = pd.DataFrame(rows)
    history["occurred_at"] = pd.to_datetime(history["occurred_at"])
    xs = list(range(56))
    ys = [x // 7 + 1 for x in xs]
    slope, intercept = statistics.linear_regression(xs, ys)
    table = forecast.forecast_arrivals(history, start=MONDAY, days=7)
    for offset in (0, 3, 6):
        day = MONDAY + timedelta(days=offset)
        assert _expected(table, day, "10:00") == pytest.approx(intercept + slope * (56 + offset))


def test_holidays_get_nothing_and_are_left_out_of_the_fit() -> None:
    # history: the same steady pattern, but the Wednesday two weeks back was a closed day with
    # nothing: left out of the fit, it does not pull Wednesdays down
    history = _history(WEEKDAYS_ONLY)
    closed_then = date(2026, 2, 18)
    history = history[history["occurred_at"].dt.date != closed_then]
    calendar_then = parse_calendar(
        {"time_zone": "UTC", "hours": "24/7", "closed": ["2026-02-18", "2026-03-04"]}
    )
    table = forecast.forecast_arrivals(
        history, start=MONDAY, days=7, calendars={"q": calendar_then}
    )
    wednesday, thursday = MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)
    assert _expected(table, wednesday, "09:00") == 0.0  # closed that day
    assert _expected(table, thursday, "09:00") == pytest.approx(2.0)


def test_closed_hours_get_nothing() -> None:
    calendar = parse_calendar({"time_zone": "UTC", "hours": {"weekdays": ["08:00-12:00"]}})
    table = forecast.forecast_arrivals(
        _history(WEEKDAYS_ONLY), start=MONDAY, days=1, calendars={"q": calendar}
    )
    assert _expected(table, MONDAY, "09:00") == pytest.approx(2.0)
    assert _expected(table, MONDAY, "14:00") == 0.0  # closed at 14:00


def test_the_backtest_puts_the_naive_forecast_beside_the_model() -> None:
    # 8 steady weeks, then the week before the two held out had twice as much: the naive
    # forecast (that week, repeated) is off by 100% of what arrived (WAPE 1.0 exactly), and
    # the model, fitted on 8 weeks, less.
    history = _history(WEEKDAYS_ONLY, weeks=11)
    doubled_week = HISTORY_START + timedelta(weeks=8)
    extra = history[
        (history["occurred_at"] >= pd.Timestamp(doubled_week))
        & (history["occurred_at"] < pd.Timestamp(doubled_week + timedelta(weeks=1)))
    ]
    history = pd.concat([history, extra])
    cutoff = HISTORY_START + timedelta(weeks=11)
    (found,) = forecast.backtest(history, cutoff=cutoff, holdout_weeks=2)
    assert found.actual == 2 * 15
    assert found.naive_wape == pytest.approx(1.0)
    assert found.naive_mape == pytest.approx(1.0)
    assert found.wape is not None and found.wape < found.naive_wape  # the trend still leans up
    assert found.intervals == 14 * 48


def test_handle_times_average_the_answered() -> None:
    frame = pd.DataFrame({"queue": ["a", "a", "a", "b"], "handle_s": [100.0, 200.0, None, None]})
    assert forecast.handle_times(frame) == {"a": 150.0}


def test_the_forecast_from_the_command_line_and_over_http(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    now = datetime.now(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    log = []
    for d in range(1, 22):  # three weeks: 2 calls a day at 10:05 to "sales", answered in 300 s
        for k in range(2):
            log.append(
                interaction(
                    type="call",
                    channel="phone",
                    direction="inbound",
                    at=today - timedelta(days=d) + timedelta(hours=10, minutes=5 + k),
                    queue="sales",
                    agent="ana",
                    duration_s=300,
                    external_id=f"c{d}-{k}",
                )
            )
    report = tp.ingestor.ingest(enumerate(log))
    assert not report.rejected, report.rejected
    answer = client.get(
        "/v1/cc/forecast",
        params={"days": 2, "interval": "60m", "history_weeks": 1, "holdout_weeks": 1},
        headers=bearer(read_key),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["aht_s"] == {"sales": 300.0}
    tomorrow_ten = (today + timedelta(days=1, hours=10)).isoformat()
    (ten,) = [r for r in body["rows"] if r["interval_start"] == tomorrow_ten]
    assert ten["expected"] == pytest.approx(2.0)  # a week of 2 a day at 10:xx, flat
    assert len(body["rows"]) == 2 * 24
    (accuracy,) = body["accuracy"]
    assert accuracy["actual"] == 14 and accuracy["naive_wape"] == 0.0
    refused = client.get("/v1/cc/forecast", params={"interval": "20m"}, headers=bearer(read_key))
    assert refused.status_code == 422 and "interval" in refused.text
    if tp.engine.dialect.name == "sqlite":
        ran = CliRunner().invoke(
            app,
            [
                "cc",
                "forecast",
                "--days",
                "1",
                "--history-weeks",
                "1",
                "--holdout-weeks",
                "1",
                "--data-dir",
                str(tp.settings.data_dir),
            ],
        )
        assert ran.exit_code == 0, ran.output
        assert "naive WAPE" in ran.stdout and "sales" in ran.stdout
