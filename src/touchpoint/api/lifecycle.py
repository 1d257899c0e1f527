"""Lifecycle stages: how many customers are in each stage, now or at a past date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from touchpoint.api.deps import ReadConn, ReadKey
from touchpoint.api.schemas import error_responses
from touchpoint.services import lifecycle as service

router = APIRouter(
    prefix="/v1/lifecycle", tags=["lifecycle"], responses=error_responses(401, 403, 422)
)


def _not_a_number(value: Any) -> Any:
    """Pydantic would read "1700000000" as epoch seconds; the API documents ISO 8601 only."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("use an ISO 8601 date-time with a zone, e.g. 2026-03-01T00:00:00Z")
    return value


IsoMoment = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]


class StageCountOut(BaseModel):
    stage: str
    customers: int


class LifecycleSummaryOut(BaseModel):
    model: str = Field(description="Stage model in force (name@version)")
    at: datetime | None = Field(description="The moment counted; null means now")
    clock: datetime | None = Field(description="How far time-based stages have been applied")
    total: int
    stages: list[StageCountOut] = Field(description="Progression stages in order, then overlays")


@router.get(
    "/summary",
    response_model=LifecycleSummaryOut,
    summary="Customers per lifecycle stage, now or at a past date",
)
def lifecycle_summary(
    conn: ReadConn,
    _key: ReadKey,
    at: Annotated[
        IsoMoment | None,
        Query(description="Count customers as they stood at this time (ISO 8601 with zone)"),
    ] = None,
) -> LifecycleSummaryOut:
    """How many customers are in each stage of the model in force — now, or as they stood at
    `at` (each customer's last transition up to then). Needs a read key."""
    return LifecycleSummaryOut.model_validate(service.summary(conn, at))
