"""The analytics pages: cohorts (retention heatmap and composition), churn with the at-risk work
list, CLV and attribution by reach channel or campaign. Each runs the same report as
`touchpoint report NAME` and the API (`analytics.service.run_report`), draws the report's own
figure and shows its table; the filters are the report's (period, breakdown, interval) and live
in the page's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from touchpoint.analytics.catalog import INTERVALS, check_interval, entry
from touchpoint.analytics.reports import ReportResult
from touchpoint.analytics.service import make_request, report_spec, run_reports
from touchpoint.services.access import Principal
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import PERIOD_LABELS, chart, page, period_start

router = APIRouter()

Period = Annotated[str, Query(description="7d, 30d, 90d, 365d or all")]
By = Annotated[str | None, Query(max_length=20)]
Interval = Annotated[str, Query(max_length=10)]
ROWS_SHOWN = 200
AT_RISK_SHOWN = 50  # the most valuable first: a work list to start from
# Columns a role without contact details does not see in a report's rows.
CONTACT_COLUMNS = ("name", "email", "phone")


@dataclass(frozen=True)
class Shown:
    """A report as a page shows it: its figure, its columns and rows (formatted), its notes."""

    name: str
    title: str
    figure: Any
    columns: list[str]
    rows: list[list[str]]
    total: int
    notes: list[str]


def run(
    request: Request, name: str, period: str, *, by: str | None = None, interval: str = "month"
) -> ReportResult:
    (result,) = run_all(request, [(name, period, by, interval)])
    return result


def run_all(request: Request, asked: list[tuple[str, str, str | None, str]]) -> list[ReportResult]:
    """The reports (name, period, by, interval) a page shows, on one opening of the copy."""
    made = []
    for name, period, by, interval in asked:
        start = period_start(period)
        spec = report_spec(name)  # a bad by or interval is refused before anything runs
        made.append((name, make_request(spec, start=start, by=by or None, interval=interval)))
    return run_reports(touchpoint_of(request).settings, made)


def cell(column: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN: no figure
            return "–"
        if any(w in column for w in ("rate", "retention", "share", "p_alive", "conversion")):
            return f"{value:.1%}"
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if hasattr(value, "isoformat"):
        return str(value)[:16]
    return str(value)


def shown(
    result: ReportResult,
    div_id: str,
    *,
    drop: tuple[str, ...] = (),
    drawn: bool = True,
    limit: int = ROWS_SHOWN,
    interval: str = "month",
) -> Shown:
    """A report's figure (titled by the page's heading, not twice) and its rows; `drawn` False
    for a work list, which a table shows better than a picture of one."""
    spec = report_spec(result.name)
    columns = [c for c in result.table.column_names if c not in drop]
    rows = result.table.slice(0, limit).to_pylist()
    figure = None
    if drawn and result.table.num_rows:
        fig = spec.plot(result)
        fig.update_layout(title_text="", margin={"t": 30})
        _whole_periods(fig, result, interval)
        figure = chart(fig, div_id)
    return Shown(
        name=result.name,
        title=result.title,
        figure=figure,
        columns=columns,
        rows=[[cell(c, r[c]) for c in columns] for r in rows],
        total=result.table.num_rows,
        notes=list(result.notes),
    )


# Ticks of a period axis: one per period, never the clock's (a single month is otherwise drawn
# with millisecond ticks around it).
_PERIOD_TICKS = {
    "month": ("M1", "%b %Y"),
    "week": (7 * 86_400_000, "%d %b %Y"),
    "day": (86_400_000, "%d %b %Y"),
}


def _whole_periods(fig: Any, result: ReportResult, interval: str) -> None:
    table = result.table
    if "period" not in table.column_names or not pa.types.is_temporal(
        table.schema.field("period").type
    ):
        return
    dtick, label = _PERIOD_TICKS.get(interval, _PERIOD_TICKS["month"])
    fig.update_xaxes(dtick=dtick, tickformat=label)


def _filters(name: str, period: str, by: str | None, interval: str | None) -> dict[str, Any]:
    return {
        "period": period,
        "periods": PERIOD_LABELS,
        "by": by or "",
        "bys": entry(name).by,
        "interval": interval,
        "intervals": INTERVALS,
    }


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "365d",
    interval: Interval = "month",
) -> HTMLResponse:
    """Retention by first-purchase cohort as a heatmap, and the customers each period by
    status (new, returning, resurrecting, dormant)."""
    check_interval(interval)
    retention, composition = run_all(
        request,
        [("cohorts", period, None, interval), ("composition", period, None, interval)],
    )
    return page(
        request,
        "report.html",
        who,
        heading="Cohorts",
        action="/app/cohorts",
        reports=[
            shown(retention, "cohort-heatmap"),
            shown(composition, "composition", interval=interval),
        ],
        **_filters("cohorts", period, None, interval) | {"bys": ()},
    )


@router.get("/churn", response_class=HTMLResponse)
def churn(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "365d",
    interval: Interval = "month",
    by: By = None,
) -> HTMLResponse:
    """Churn and retention rates per period (by segment, channel or campaign), and the at-risk
    work list — with names and emails only for a role that sees contact details."""
    check_interval(interval)
    rates, at_risk = run_all(
        request, [("churn", period, by, interval), ("at-risk", "all", None, "month")]
    )
    drop = () if who.sees_contact_details else CONTACT_COLUMNS
    return page(
        request,
        "report.html",
        who,
        heading="Churn and customers at risk",
        action="/app/churn",
        reports=[
            shown(rates, "churn-rates", interval=interval),
            shown(at_risk, "at-risk", drop=drop, drawn=False, limit=AT_RISK_SHOWN),
        ],
        open_customers=who.may("customers.read"),
        **_filters("churn", period, by, interval),
    )


@router.get("/clv", response_class=HTMLResponse)
def clv(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "all",
    by: By = None,
) -> HTMLResponse:
    """Historical and predicted customer lifetime value (BG/NBD + Gamma-Gamma) per group."""
    result = run(request, "clv", period, by=by)
    return page(
        request,
        "report.html",
        who,
        heading="Customer lifetime value",
        action="/app/clv",
        reports=[shown(result, "clv-chart")],
        **_filters("clv", period, by, None),
    )


@router.get("/attribution", response_class=HTMLResponse)
def attribution(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "365d",
    by: By = "channel",
) -> HTMLResponse:
    """First purchases credited to the touches before them by five models side by side, per
    reach channel (the source) or campaign."""
    result = run(request, "attribution", period, by=by or "channel")
    return page(
        request,
        "report.html",
        who,
        heading="Attribution: where first purchases come from",
        action="/app/attribution",
        reports=[shown(result, "attribution-chart")],
        **_filters("attribution", period, by or "channel", None),
    )
