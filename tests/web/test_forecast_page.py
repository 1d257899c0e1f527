"""The workforce forecast page over HTTP on the seeded business (conftest: support and sales
queues, both 80/20, no calendar: UTC, always open), with three weeks of sales calls built here:
12 a day in 10:00-11:00 UTC, each answered in 300 s. The numbers follow by hand from the model
contact_center.forecast documents and the Erlang C formula; the page's errors name the field;
a visitor not signed in is sent to the login form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.builders import interaction
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint

PER_DAY = 12  # sales calls a day, all in 10:00-11:00 UTC
PLAN = "/app/forecast?queue=sales&interval=60m&days=2&history_weeks=1&holdout_weeks=1"


def as_(role: str) -> tuple[str, str]:
    return (f"web-{role}", PASSWORDS[role])


def _today() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    today = _today()
    calls = [
        interaction(
            type="call",
            channel="phone",
            direction="inbound",
            at=today - timedelta(days=d) + timedelta(hours=10, minutes=2 + 4 * k),
            queue="sales",
            agent="bob",
            duration_s=300,
            external_id=f"caller-{d}-{k}",
        )
        for d in range(1, 22)
        for k in range(PER_DAY)
    ]
    report = seeded.ingestor.ingest(list(enumerate(calls)))
    assert not report.rejected, report.rejected
    return TestClient(create_app(seeded))


def _table(html: str, table_id: str) -> list[list[str]]:
    """A table's body rows as their cells' text (th and td alike)."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]


def test_the_forecast_repeats_a_steady_day_and_the_backtest_is_exact(web: TestClient) -> None:
    page = web.get(PLAN + "&shrinkage=0.3", auth=as_("manager"))
    assert page.status_code == 200, page.text
    assert "<h1>Workforce forecast</h1>" in page.text
    assert '<script src="/app/static/plotly.min.js"></script>' in page.text
    assert 'id="forecast-chart"' in page.text and 'id="plan-chart"' in page.text
    # One week of history, 12 a day, every day alike: weekday factors 1, a flat level of 12
    # (under two weeks: no trend), all of it in the 10:00 interval (the smoothing mixes in the
    # same shares). Every other hour gets 0 and is left out of the table: 2 days, 2 rows, from
    # the first day of the week planned below (the coming Monday).
    today = _today()
    monday = today + timedelta(days=7 - today.weekday())
    assert _table(page.text, "forecast-table") == [
        [f"{monday + timedelta(days=d):%a %Y-%m-%d} 10:00", "12.0"] for d in range(2)
    ]
    # The week held out (the last 7 days) fitted on the week before: both 84 contacts, 12 each
    # day at 10:00, so the model and "the same interval last week" are both exact.
    assert _table(page.text, "accuracy-table") == [
        ["sales", "84", "84.0", "0.0%", "0.0%", "0.0%", "0.0%"]
    ]


def test_the_plan_staffs_each_busy_hour_by_erlang_c_with_shrinkage(web: TestClient) -> None:
    page = web.get(PLAN + "&shrinkage=0.3", auth=as_("manager"))
    assert page.status_code == 200, page.text
    # A = 12 x 300 s / 3600 s = 1 Erlang. Erlang C: N = 2 waits with C = 1/3, SL(20 s) =
    # 1 - 1/3 e^(-(2-1) 20/300) = 0.6882 < 0.8; N = 3: C = (1/6 x 3/2) / (1 + 1 + 1/2 + 1/4)
    # = 0.0909, SL = 1 - 0.0909 e^(-(3-1) 20/300) = 0.9204. 3 on the phones, 3 / (1 - 0.3) =
    # 4.29: 5 scheduled, every day of the week at 10:00 (the queue's zone: UTC).
    rows = _table(page.text, "plan-table")
    assert len(rows) == 7
    assert {tuple(r[:1] + r[2:]) for r in rows} == {("sales", "12.0", "1.00", "3", "5", "92.0%")}
    assert all(r[1].endswith(" 10:00 UTC") for r in rows)
    assert rows[0][1].startswith("Mon ")  # the week from the coming Monday
    # 7 x 12 contacts; 5 agents for an hour a day = 35 agent-hours needed; 8-hour shifts of
    # 5 agents cover it: 7 x 40 = 280 h; peak 5.
    assert _table(page.text, "plan-summary") == [
        ["sales", "84.0", "300 s", "5", "35.0", "280 h", "optimal"]
    ]
    assert 'value="0.3"' in page.text  # the form keeps the question
    assert "<option selected>sales</option>" in page.text


def test_the_page_is_in_the_navigation_and_every_queue_by_default(web: TestClient) -> None:
    page = web.get("/app/forecast", auth=as_("agent"))
    assert page.status_code == 200
    assert 'href="/app/forecast"' in page.text
    head = page.text.split('id="forecast-table"', 1)[1].split("</thead>", 1)[0]
    assert re.findall(r'<th scope="col">([^<]*)</th>', head) == [
        "Interval start (UTC)",
        "sales",
        "support",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("days=a+week", "days: a whole number, got &#39;a week&#39;"),
        ("days=63", "days: 1 to 62; got 63"),
        ("interval=20m", "interval: 15m, 30m or 60m; got &#39;20m&#39;"),
        ("start=next+monday", "start: a day as YYYY-MM-DD; got &#39;next monday&#39;"),
        ("shrinkage=1.5", "shrinkage: 0 to &lt;1; got 1.5"),
        ("queue=billing", "queue: no queue &#39;billing&#39; in the configuration or the log"),
    ],
)
def test_a_bad_field_is_refused_naming_it(web: TestClient, query: str, message: str) -> None:
    page = web.get(f"/app/forecast?{query}", auth=as_("analyst"))
    assert page.status_code == 422
    assert f'<p class="problem" role="alert">{message}</p>' in page.text
    assert 'id="forecast-form"' in page.text  # the form shown again to correct it


def test_who_is_not_signed_in_is_refused(web: TestClient) -> None:
    answer = web.get("/app/forecast?queue=sales", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=%2Fapp%2Fforecast%3Fqueue%3Dsales"
    wrong = web.get("/app/forecast", auth=("web-manager", "not-the-password"))
    assert wrong.status_code == 401 and "Workforce forecast" not in wrong.text
