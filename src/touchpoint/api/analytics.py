"""Analytics: `GET /v1/analytics/{name}` runs a report (funnel, cohorts, …) and returns its rows."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from touchpoint.analytics.output import payload
from touchpoint.analytics.reports import BREAKDOWNS, load_reports
from touchpoint.analytics.service import make_request, report_spec, run_report
from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses, moment_query, read_moment
from touchpoint.services.access import Principal

router = APIRouter(
    prefix="/v1/analytics", tags=["analytics"], responses=error_responses(401, 403, 422, 503)
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
    at: datetime = Field(description="The moment taken as now (UTC)")
    start: datetime | None = Field(alias="from", description="Period start (inclusive), if any")
    end: datetime | None = Field(alias="to", description="Period end (exclusive), if any")
    columns: list[Column]
    rows: list[dict[str, Any]]
    notes: list[str]


@router.get(
    "/{name}",
    response_model=ReportOut,
    summary="Run an analytics report",
    description="One report's columns and rows, with the period and the moment taken as now. "
    "Reports: "
    + "; ".join(
        f"**{s.name}**: {s.description}"
        for s in sorted(load_reports().values(), key=lambda s: s.name)
    ),
)
def get_report(
    name: ReportName,
    tp: TouchpointDep,
    _who: Annotated[Principal, allowed("analytics.read")],
    start: Annotated[str | None, moment_query("Period start (inclusive)", alias="from")] = None,
    end: Annotated[str | None, moment_query("Period end (exclusive)", alias="to")] = None,
    by: Annotated[Breakdown | None, Query(description="Breakdown (reports allow a subset)")] = None,
    interval: Annotated[Interval, Query(description="Bucket of period-by-period reports")] = MONTH,
    at: Annotated[str | None, moment_query("The moment taken as now (default: now)")] = None,
) -> ReportOut:
    spec = report_spec(name.value)
    request = make_request(
        spec,
        start=read_moment(start, "from"),
        end=read_moment(end, "to"),
        by=by.value if by else None,
        interval=interval.value,
        at=read_moment(at, "at"),
    )
    result = run_report(tp.settings, spec.name, request)
    return ReportOut.model_validate(payload(result, request))
