"""Workforce planning over HTTP: staffing for a volume and a target (Erlang C, Erlang A with
patience), the contacts forecast per queue and interval with its backtest, and next week's
staffing plan with its shift cover — the same services as `touchpoint cc staffing|forecast|plan`."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.services import staffing as staffing_service
from touchpoint.services import workforce
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("cc.read")]

router = APIRouter(
    prefix="/v1/cc",
    tags=["contact center"],
    responses=error_responses(401, 403, 422),
)


class StaffingOut(BaseModel):
    model: str = Field(description="erlang-c, or erlang-a when a patience is given")
    traffic_erlangs: float = Field(description="Offered traffic: contacts per second × AHT")
    agents: int = Field(description="Agents on the phones: the least meeting the target")
    agents_fractional: float | None = Field(
        description="Where the target is crossed between two whole numbers of agents"
    )
    agents_with_shrinkage: int = Field(description="Agents to schedule: agents / (1 - shrinkage)")
    agents_with_shrinkage_fractional: float
    service_level: float | None = Field(
        description="Share of offered contacts answered within the target's seconds"
    )
    wait_probability: float | None
    asa_s: float | None = Field(description="Average wait of answered contacts, seconds")
    occupancy: float | None
    abandon_rate: float | None = Field(description="Share of contacts abandoned (Erlang A)")
    meets_target: bool | None
    stable: bool = Field(description="False: fewer agents than traffic without abandonment")
    note: str | None = Field(description='"unstable: queue grows without bound" when not stable')
    target: float
    threshold_s: float


@router.get("/staffing", response_model=StaffingOut, summary="Agents needed for a target")
def get_staffing(
    _who: Reader,
    volume: Annotated[float, Query(description="Contacts offered per interval")],
    aht: Annotated[float, Query(description="Average handle time, seconds")],
    interval: Annotated[str, Query(description="The interval: 15m, 30m, 1h")] = "30m",
    target: Annotated[str, Query(description="PERCENT/SECONDS, e.g. 80/20")] = "80/20",
    shrinkage: Annotated[float, Query(description="Share of paid time off the phones")] = 0.0,
    max_occupancy: Annotated[float, Query(description="Occupancy cap, e.g. 0.85")] = 1.0,
    patience: Annotated[
        float | None, Query(description="Callers' mean patience, seconds: Erlang A")
    ] = None,
    agents: Annotated[int | None, Query(description="What this many agents achieve")] = None,
) -> dict[str, Any]:
    """Erlang C (Erlang A with `patience`): the agents needed, raw and with shrinkage, and the
    service level, probability of waiting, ASA and occupancy at that staffing; with `agents`,
    what that many achieve. Fewer agents than the traffic without patience answers
    `stable: false` and the note "unstable: queue grows without bound", never a number."""
    q = staffing_service.question(
        volume=volume,
        interval=interval,
        aht=aht,
        target=target,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        patience=patience,
        agents=agents,
    )
    return dataclasses.asdict(staffing_service.answer(q))


Interval = Annotated[str, Query(description="Interval length: 15m, 30m or 60m")]
Start = Annotated[date | None, Query(description="First day, YYYY-MM-DD")]
HistoryWeeks = Annotated[int, Query(description="Weeks of history fitted on")]
HoldoutWeeks = Annotated[int, Query(description="Last weeks held out for the backtest")]
Queue = Annotated[str | None, Query(max_length=40, description="One queue (default: all)")]


@router.get("/forecast", summary="Contacts forecast per queue and interval")
def get_forecast(
    tp: TouchpointDep,
    _who: Reader,
    days: Annotated[int, Query(description="Days ahead, 1-62")] = 7,
    interval: Interval = "30m",
    start: Start = None,
    history_weeks: HistoryWeeks = 8,
    holdout_weeks: HoldoutWeeks = 2,
    queue: Queue = None,
) -> dict[str, Any]:
    """Expected contacts per queue per interval for the next `days` days (from `start`, default
    tomorrow), from the log's history: weekday × interval profile, trend, the queues' holidays
    and opening hours. `accuracy` is the backtest on the last `holdout_weeks` weeks held out:
    MAPE and WAPE beside the naive "same interval last week"."""
    found = workforce.forecast(
        tp,
        interval=interval,
        days=days,
        start=start,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        queue=queue,
    )
    return workforce.forecast_document(found)


@router.get("/plan", summary="Next week's staffing plan and shift cover")
def get_plan(
    tp: TouchpointDep,
    _who: Reader,
    start: Start = None,
    interval: Interval = "30m",
    shrinkage: Annotated[float, Query(description="Share of paid time off the phones")] = 0.0,
    max_occupancy: Annotated[float, Query(description="Occupancy cap")] = 1.0,
    patience: Annotated[float | None, Query(description="Mean patience, s: Erlang A")] = None,
    shift_hours: Annotated[int, Query(description="Length of a shift, hours")] = 8,
    history_weeks: HistoryWeeks = 8,
    holdout_weeks: HoldoutWeeks = 2,
    queue: Queue = None,
) -> dict[str, Any]:
    """Agents per queue and interval for the week from `start` (default the coming Monday), for
    each queue's target on the forecast and the log's handle time, with shrinkage; and each
    queue's shift cover (fewest agent-hours of fixed shifts, OR-Tools CP-SAT)."""
    found = workforce.plan(
        tp,
        interval=interval,
        start=start,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        queue=queue,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        patience=patience,
        shift_hours=shift_hours,
    )
    return workforce.plan_document(found)
