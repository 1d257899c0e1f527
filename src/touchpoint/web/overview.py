"""The overview, the page after sign-in: customers per stage now with their last 12 weeks as
sparklines and, for a role that reads analytics, the last 7 days beside the 7 before —
conversions, churned, revenue, CSAT, NPS and service level with the change — each what the
same reports as the other pages (transitions, kpis, contact-center) give for the week, worked
out for both weeks in one query per report; the conversions and churned over 12 weeks as
sparklines (one pass over the transitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.analytics import contact_center, kpis, transitions
from touchpoint.analytics.reports import Sources
from touchpoint.analytics.service import make_request, report_spec, run_query
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services.access import Principal
from touchpoint.services.lifecycle import LifecycleSummary
from touchpoint.store.engine import read_connection
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()
WEEK = timedelta(days=7)
TREND_WEEKS = 12
MOVED_INTO = {"conversions": "conversion", "churned": "churned"}  # figure -> stage moved into


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str  # count, money, score, nps, ratio
    now: float | None
    before: float | None

    @property
    def change(self) -> float | None:
        """This week minus the one before (points for a ratio); None without both."""
        if self.now is None or self.before is None:
            return None
        return self.now - self.before


LABELS = (
    ("conversions", "Conversions (customers)", "count"),
    ("churned", "Churned (customers)", "count"),
    ("revenue", "Net revenue", "money"),
    ("csat", "CSAT (1–5)", "score"),
    ("nps", "NPS", "nps"),
    ("sl", "Service level", "ratio"),
)


def week_section(request: Request, at: datetime) -> tuple[list[Figure], dict[str, list[int]]]:
    """The week's figures beside the week before's, and the weekly moves into conversion and
    churned over 12 weeks, on one opening of the analytics copy: three queries, each grouped
    by week — the moves (whose last two weeks are the two weeks' conversions and churned), the
    KPIs' revenue and survey sums, and the contact center's service level — each week's figure
    what its report (transitions, kpis, contact-center's total) gives with the week as its
    period."""

    def run(sources: Sources) -> tuple[list[Figure], dict[str, list[int]]]:
        made = make_request(report_spec("transitions"), at=at)
        weekly = transitions.weekly_moves(sources, made, weeks=TREND_WEEKS)
        edges = transitions.week_edges(at, 2)  # the week before, then the last 7 days
        money = kpis.headline_by_window(sources, made, edges)
        levels = contact_center.service_level_by_window(sources, made, edges)
        last, this = (
            {
                key: weekly.get(stage, [0] * TREND_WEEKS)[TREND_WEEKS - 2 + i]
                for key, stage in MOVED_INTO.items()
            }
            | {
                "revenue": money[i]["net_revenue"] or 0.0,  # a week with no sale took nothing
                "csat": money[i]["csat"],
                "nps": money[i]["nps"],
                "sl": levels[i],
            }
            for i in (0, 1)
        )
        shown = [Figure(k, label, unit, this[k], last[k]) for k, label, unit in LABELS]
        return shown, weekly

    return run_query(touchpoint_of(request).settings, run)


def _ends(at: datetime) -> list[datetime]:
    """The ends of the last TREND_WEEKS 7-day windows, oldest first (the last is `at`)."""
    return [at - k * WEEK for k in range(TREND_WEEKS - 1, -1, -1)]


def stage_trends(at: datetime, counts: list[LifecycleSummary]) -> dict[str, Any]:
    """Each stage's customers at the end of each of the last 12 weeks (`counts`, at `_ends`),
    as a sparkline."""
    days = [f"{end:%Y-%m-%d}" for end in _ends(at)]
    series: dict[str, list[float | None]] = {}
    for summary in counts:
        for s in summary.stages:
            series.setdefault(s.stage, []).append(s.customers)
    return {
        stage: chart(charts.sparkline(days, ys, stage, step=False), f"trend-{i}", small=True)
        for i, (stage, ys) in enumerate(series.items())
    }


def move_trends(at: datetime, weekly: dict[str, list[int]]) -> dict[str, Any]:
    """Conversions and churned customers in each of the last 12 weeks, as sparklines."""
    days = [f"{end:%Y-%m-%d}" for end in _ends(at)]
    return {
        key: chart(
            charts.sparkline(days, weekly.get(stage, [0] * TREND_WEEKS), key, step=False),
            f"trend-{key}",
            small=True,
        )
        for key, stage in MOVED_INTO.items()
    }


@router.get("/overview", response_class=HTMLResponse)
def overview(
    request: Request, who: Annotated[Principal, signed_in("lifecycle.read")]
) -> HTMLResponse:
    """Customers per stage now (and over 12 weeks); for a role reading analytics, the week
    against the week before, which the page loads after its first paint (htmx,
    /app/overview/week) as it runs six reports."""
    return _whole_page(request, who, datetime.now(UTC), weekly=who.may("analytics.read"))


@router.get("/overview/week", response_class=HTMLResponse)
def overview_week(
    request: Request, who: Annotated[Principal, signed_in("analytics.read")]
) -> HTMLResponse:
    """The week against the week before, with the 12-week moves: the fragment the overview
    swaps in (htmx), or without htmx the whole overview with it in place."""
    at = datetime.now(UTC)
    shown, weekly = week_section(request, at)
    values = {"figures": shown, "trends": move_trends(at, weekly), "weeks": TREND_WEEKS}
    if request.headers.get("HX-Request"):
        return page(request, "_overview_week.html", who, **values)
    return _whole_page(request, who, at, weekly=True, **values)


def _whole_page(request: Request, who: Principal, at: datetime, **values: Any) -> HTMLResponse:
    """The overview page: the stages now and their trends, and `values` (the week's figures, or
    none yet)."""
    with read_connection(touchpoint_of(request).engine) as conn:
        counts = lifecycle_service.summaries_at(conn, _ends(at))
    shown = {"figures": None, "weeks": TREND_WEEKS} | values
    return page(
        request,
        "overview.html",
        who,
        summary=counts[-1],  # the last week's end is `at`: the stages now
        stage_trends=stage_trends(at, counts),
        **shown,
    )
