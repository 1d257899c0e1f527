"""The workforce page: contacts forecast per queue and interval from the log's history (with its
backtest beside the naive forecast) and next week's staffing plan with its shift cover — the
same services as `touchpoint cc forecast|plan` and GET /v1/cc/forecast|plan, the form sent with
GET so the question is in the address."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from touchpoint.errors import Conflict, ValidationError
from touchpoint.services import workforce
from touchpoint.services.access import Principal
from touchpoint.services.contact_center import current_config
from touchpoint.store.engine import read_connection
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.center import _number
from touchpoint.web.render import chart, page

router = APIRouter()

Field = Annotated[str, Query(max_length=40)]
INTERVALS = ("15m", "30m", "60m")
MAX_ROWS = 2000  # rows a table shows; the chart has them all


def _whole(name: str, text: str, default: int) -> int:
    value = _number(name, text, integer=True)
    return default if value is None else int(value)


def _share(name: str, text: str, default: float) -> float:
    value = _number(name, text)
    return default if value is None else value


def _day(text: str) -> date | None:
    """The start field as YYYY-MM-DD (empty: each service's own default)."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"start: a day as YYYY-MM-DD; got {text!r}") from None


def _configured_queues(request: Request) -> list[str]:
    with read_connection(touchpoint_of(request).engine) as conn:
        try:
            return sorted(current_config(conn)[1].queues)
        except Conflict:  # no configuration yet: the log's queues only
            return []


def _forecast_table(found: workforce.Forecast) -> tuple[list[str], list[list[str]], int]:
    """The forecast as one row per interval, a column per queue (intervals with nothing
    expected on any queue left out): the queues, the rows shown, the rows in all."""
    queues = sorted(found.aht_s)
    grid: dict[Any, dict[str, float]] = {}
    for r in found.rows:
        grid.setdefault(r["interval_start"], {})[r["queue"]] = r["expected"]
    busy = [(at, v) for at, v in sorted(grid.items()) if any(v.values())]
    rows = [
        [f"{at:%a %Y-%m-%d %H:%M}", *(f"{v.get(q, 0.0):.1f}" for q in queues)]
        for at, v in busy[:MAX_ROWS]
    ]
    return queues, rows, len(busy)


def _plan_rows(found: workforce.Plan) -> tuple[list[list[str]], int]:
    """The plan's intervals that need agents, one row per queue and interval, in its zone."""
    busy = [n for n in found.needs if n.agents or n.scheduled]
    rows = [
        [
            n.queue,
            f"{n.local_start:%a %Y-%m-%d %H:%M %Z}",
            f"{n.expected:.1f}",
            f"{n.traffic_erlangs:.2f}",
            str(n.agents),
            str(n.scheduled),
            f"{n.service_level:.1%}",
        ]
        for n in busy[:MAX_ROWS]
    ]
    return rows, len(busy)


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    who: Annotated[Principal, signed_in("cc.read")],
    queue: Field = "",
    interval: Field = "30m",
    days: Field = "7",
    start: Field = "",
    history_weeks: Field = "8",
    holdout_weeks: Field = "2",
    shrinkage: Field = "0",
    max_occupancy: Field = "1",
    patience: Field = "",
    shift_hours: Field = "8",
) -> HTMLResponse:
    """Contacts per interval for the days ahead and the week's plan: agents on the phones and
    scheduled with shrinkage per interval, each queue's shift cover, the backtest."""
    form = {
        "queue": queue,
        "interval": interval,
        "days": days,
        "start": start,
        "history_weeks": history_weeks,
        "holdout_weeks": holdout_weeks,
        "shrinkage": shrinkage,
        "max_occupancy": max_occupancy,
        "patience": patience,
        "shift_hours": shift_hours,
    }
    tp = touchpoint_of(request)
    values: dict[str, Any] = {"ahead": None, "planned": None, "problem": None}
    try:
        first = _day(start)
        history = _whole("history_weeks", history_weeks, 8)
        holdout = _whole("holdout_weeks", holdout_weeks, 2)
        one = queue.strip() or None
        wanted = _whole("days", days, 7)
        planned = workforce.plan(
            tp,
            interval=interval,
            start=first,
            history_weeks=history,
            holdout_weeks=holdout,
            queue=one,
            shrinkage=_share("shrinkage", shrinkage, 0.0),
            max_occupancy=_share("max_occupancy", max_occupancy, 1.0),
            patience=_number("patience", patience),
            shift_hours=_whole("shift_hours", shift_hours, 8),
        )
        # the forecast shown starts where the plan's week does; for its days it is the plan's
        # own (one fit of the history per page, not two)
        ahead = planned.forecast
        if wanted != ahead.days:
            ahead = workforce.forecast(
                tp,
                interval=interval,
                days=wanted,
                start=ahead.start,
                history_weeks=history,
                holdout_weeks=holdout,
                queue=one,
            )
        columns, rows, total = _forecast_table(ahead)
        plan_rows, plan_total = _plan_rows(planned)
        values |= {
            "ahead": ahead,
            "planned": planned,
            "forecast_figure": chart(
                charts.forecast_lines(ahead.rows, ahead.interval_min), "forecast-chart"
            ),
            "plan_figure": chart(charts.plan_lines(planned.needs), "plan-chart"),
            "forecast_columns": columns,
            "forecast_rows": rows,
            "forecast_total": total,
            "plan_rows": plan_rows,
            "plan_total": plan_total,
            "summary": [
                {
                    "cover": c,
                    "contacts": sum(n.expected for n in planned.needs if n.queue == c.queue),
                    "aht_s": planned.forecast.aht_s[c.queue],
                    "peak": max(
                        (n.scheduled for n in planned.needs if n.queue == c.queue), default=0
                    ),
                }
                for c in planned.covers
            ],
        }
    except ValidationError as exc:
        values["problem"] = str(exc)
    choices = set(_configured_queues(request))
    if values["ahead"] is not None:
        choices |= set(values["ahead"].aht_s)
    if queue.strip():
        choices.add(queue.strip())
    return page(
        request,
        "forecast.html",
        who,
        status_code=422 if values["problem"] else 200,
        form=form,
        intervals=INTERVALS,
        queues=sorted(choices),
        max_rows=MAX_ROWS,
        **values,
    )
