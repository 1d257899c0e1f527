"""Analytics: `GET /v1/analytics/{name}` runs a report (funnel, cohorts, …) and returns its rows."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from touchpoint.analytics.output import payload
from touchpoint.analytics.reports import BREAKDOWNS, load_reports
from touchpoint.analytics.service import make_request, parse_moment, report_spec, run_report
from touchpoint.api.deps import ReadKey, TouchpointDep
from touchpoint.api.schemas import error_responses

router = APIRouter(
    prefix="/v1/analytics", tags=["analytics"], responses=error_responses(401, 403, 422)
)

ReportName = Enum(  # type: ignore[misc]
    "ReportName", {name.replace("-", "_"): name for name in sorted(load_reports())}, type=str
)
Breakdown = Enum("Breakdown", {name: name for name in BREAKDOWNS}, type=str)  # type: ignore[misc]
Interval = Enum("Interval", {name: name for name in ("day", "week", "month")}, type=str)  # type: ignore[misc]
MONTH = Interval("month")


class Column(BaseModel):
    name: str
    type: str


class ReportOut(BaseModel):
    report: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    notes: list[str]


@router.get(
    "/{name}",
    response_model=ReportOut,
    summary="Run an analytics report",
    description="Reports: "
    + "; ".join(
        f"**{s.name}**: {s.description}"
        for s in sorted(load_reports().values(), key=lambda s: s.name)
    ),
)
def get_report(
    name: ReportName,
    tp: TouchpointDep,
    _key: ReadKey,
    start: Annotated[
        str | None, Query(alias="from", description="Period start (inclusive), ISO date or time")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="Period end (exclusive), ISO date or time")
    ] = None,
    by: Annotated[Breakdown | None, Query(description="Breakdown (reports allow a subset)")] = None,
    interval: Annotated[Interval, Query(description="Bucket of period-by-period reports")] = MONTH,
    at: Annotated[
        str | None,
        Query(description="The moment taken as now (ISO date or time; default: now)"),
    ] = None,
) -> ReportOut:
    spec = report_spec(name.value)
    request = make_request(
        spec,
        start=start,
        end=end,
        by=by.value if by else None,
        interval=interval.value,
        at=parse_moment(at, "at"),
    )
    result = run_report(tp.settings, spec.name, request)
    return ReportOut.model_validate(payload(result))
