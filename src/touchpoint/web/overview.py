"""The overview, the page after sign-in: customers per stage now and, for a role that reads
analytics, the last 7 days beside the 7 before — conversions, churned, revenue, CSAT, NPS and
service level with the change — from the same reports as the other pages (transitions, kpis,
contact-center), each run once per week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.analytics.contact_center import TOTAL
from touchpoint.analytics.service import make_request, report_spec, run_report
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import page

router = APIRouter()
WEEK = timedelta(days=7)


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


def _week(request: Request, start: datetime, end: datetime) -> dict[str, float | None]:
    settings = touchpoint_of(request).settings

    def run(name: str, by: str | None = None) -> list[dict[str, Any]]:
        made = make_request(report_spec(name), start=start, end=end, by=by)
        return run_report(settings, name, made).table.to_pylist()

    moves = run("transitions")
    kpis = {r["kpi"]: r["value"] for r in run("kpis")}
    queues = run("contact-center", by="queue")
    totals = [r for r in queues if r["queue"] == TOTAL] or queues[:1]
    return {
        "conversions": sum(r["customers"] for r in moves if r["to_stage"] == "conversion"),
        "churned": sum(r["customers"] for r in moves if r["to_stage"] == "churned"),
        "revenue": kpis.get("net_revenue") or 0.0,  # a week with no sale took nothing
        "csat": kpis.get("csat"),
        "nps": kpis.get("nps"),
        "sl": totals[0]["sl"] if totals else None,
    }


LABELS = (
    ("conversions", "Conversions (customers)", "count"),
    ("churned", "Churned (customers)", "count"),
    ("revenue", "Net revenue", "money"),
    ("csat", "CSAT (1–5)", "score"),
    ("nps", "NPS", "nps"),
    ("sl", "Service level", "ratio"),
)


def figures(request: Request, now: datetime | None = None) -> list[Figure]:
    at = now or datetime.now(UTC)
    this = _week(request, at - WEEK, at)
    last = _week(request, at - 2 * WEEK, at - WEEK)
    return [Figure(k, label, unit, this[k], last[k]) for k, label, unit in LABELS]


@router.get("/overview", response_class=HTMLResponse)
def overview(
    request: Request, who: Annotated[Principal, signed_in("lifecycle.read")]
) -> HTMLResponse:
    """Customers per stage now; the week against the week before for a role reading analytics."""
    with read_connection(touchpoint_of(request).engine) as conn:
        summary = lifecycle_service.summary(conn)
    weekly = figures(request) if who.may("analytics.read") else None
    return page(request, "overview.html", who, summary=summary, figures=weekly)
