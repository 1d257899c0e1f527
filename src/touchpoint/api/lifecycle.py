"""Lifecycle stages: how many customers are in each stage, now or at a past moment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from touchpoint.api.deps import ReadConn, allowed
from touchpoint.api.schemas import error_responses, moment_query, read_moment
from touchpoint.services import lifecycle as service
from touchpoint.services.access import Principal

router = APIRouter(
    prefix="/v1/lifecycle", tags=["lifecycle"], responses=error_responses(401, 403, 422)
)


class StageCountOut(BaseModel):
    stage: str
    customers: int


class LifecycleSummaryOut(BaseModel):
    model: str = Field(description="Stage model in force (name@version)")
    at: datetime | None = Field(description="The moment counted (UTC); null means now")
    clock: datetime | None = Field(description="How far time-based stages have been applied")
    total: int
    stages: list[StageCountOut] = Field(description="Progression stages in order, then overlays")


@router.get(
    "/summary",
    response_model=LifecycleSummaryOut,
    summary="Customers per lifecycle stage, now or at a past moment",
)
def lifecycle_summary(
    conn: ReadConn,
    _who: Annotated[Principal, allowed("lifecycle.read")],
    at: Annotated[str | None, moment_query("Count customers as they stood at this moment")] = None,
) -> LifecycleSummaryOut:
    """How many customers are in each stage of the model in force — now, or as they stood at
    `at` (each customer's last transition up to then)."""
    summary = service.summary(conn, read_moment(at, "at"))
    return LifecycleSummaryOut.model_validate(summary, from_attributes=True)
