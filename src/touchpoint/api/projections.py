"""Projections: how far each has applied the interaction log (for operators and monitoring)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.services.access import Principal

router = APIRouter(prefix="/v1/projections", tags=["meta"], responses=error_responses(401, 403))


class ProjectionStatusOut(BaseModel):
    name: str = Field(description="The projection, e.g. lifecycle")
    version: int = Field(description="Its schema version")
    checkpoint: int = Field(description="The last log position it has applied")
    log_position: int = Field(description="The log's last position")
    lag: int = Field(description="Log events it has not applied yet")
    needs_replay: bool = Field(description="Never built, or built by another version")
    updated_at: datetime | None = Field(description="When its checkpoint last moved")
    next_due: datetime | None = Field(description="When its next time-based rule falls due")


@router.get("", response_model=list[ProjectionStatusOut], summary="Projections and their lag")
def projection_status(
    tp: TouchpointDep, _who: Annotated[Principal, allowed("projections.read")]
) -> list[ProjectionStatusOut]:
    """Each projection of the log (the lifecycle stages, …) with its checkpoint and its lag behind
    the log: after a bulk import the lag shows until the projections have caught up (the server
    catches up in the background)."""
    return [
        ProjectionStatusOut.model_validate(s, from_attributes=True) for s in tp.projections.status()
    ]
