"""Run a report by name: validate the request against the registry, open the sources, run it.
The CLI and the API both call `run_report`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from touchpoint.analytics.catalog import check_engine, check_request
from touchpoint.analytics.reports import (
    CustomerFilter,
    ReportRequest,
    ReportResult,
    ReportSpec,
    Sources,
    load_report,
)
from touchpoint.analytics.sources import open_sources
from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.errors import ValidationError
from touchpoint.settings import Settings

T = TypeVar("T")


def report_spec(name: str) -> ReportSpec:
    return load_report(name)


def make_request(
    spec: ReportSpec,
    *,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    by: str | None = None,
    interval: str = "month",
    at: datetime | None = None,
    only: CustomerFilter | None = None,
) -> ReportRequest:
    """A validated request; faces parse their moments first (domain.moments), and strings here
    are read by the same rule."""
    check_request(spec.name, by=by, interval=interval)
    begin, finish = _moment(start, "from"), _moment(end, "to")
    if begin and finish and begin >= finish:
        raise ValidationError(
            f"the period is empty: from {begin:%Y-%m-%d %H:%M} is not before to {finish:%Y-%m-%d %H:%M}"
        )
    return ReportRequest(
        start=begin, end=finish, by=by, at=at or datetime.now(UTC), interval=interval, only=only
    )


def _moment(value: str | date | datetime | None, what: str) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return parse_moment(value, what)
    except MomentError as exc:
        raise ValidationError(str(exc)) from None


def run_report(
    settings: Settings, name: str, request: ReportRequest, *, engine: str = "duckdb"
) -> ReportResult:
    spec = report_spec(name)
    return run_query(settings, lambda sources: spec.run(sources, request), engine=engine)


def run_reports(
    settings: Settings, asked: list[tuple[str, ReportRequest]], *, engine: str = "duckdb"
) -> list[ReportResult]:
    """Several reports (name, request) on one opening of the sources, as a page showing several
    runs them: opening the copy costs each report tens of milliseconds."""
    specs = [(report_spec(name), request) for name, request in asked]
    return run_query(
        settings, lambda sources: [spec.run(sources, made) for spec, made in specs], engine=engine
    )


def run_query(settings: Settings, query: Callable[[Sources], T], *, engine: str = "duckdb") -> T:
    """`query` over the sources, as a report runs (a listing behind a report's row, such as the
    customers of one lifecycle flow)."""
    check_engine(engine)
    # One opening of the copy at a time per process: open_sources holds its lock.
    with open_sources(settings, engine) as sources:
        return query(sources)
