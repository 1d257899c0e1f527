"""The audit trail over the API (admin key): who read or changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import ReadConn, allowed
from touchpoint.api.schemas import Limit, Offset, error_responses
from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.domain.vocabulary import AUDIT_ACTIONS
from touchpoint.errors import ValidationError
from touchpoint.services import audit as service
from touchpoint.services.access import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=error_responses(401, 403, 422))

Action = Literal[AUDIT_ACTIONS]  # type: ignore[valid-type]  # the vocabulary's list


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Its place in the trail (append-only)")
    at: datetime
    actor: str = Field(description="cli:<user>, or the API key id that acted")
    action: str
    subject: str | None = Field(description="A customer id, merge id, key id …")
    detail: dict[str, Any]


class AuditListOut(BaseModel):
    total: int
    items: list[AuditEntryOut]


@router.get("", response_model=AuditListOut, summary="The audit trail")
def audit_trail(
    conn: ReadConn,
    _who: Annotated[Principal, allowed("audit.read")],
    action: Action | None = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    subject: Annotated[str | None, Query(max_length=400)] = None,
    since: Annotated[str | None, Query(description="Entries from this moment on")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditListOut:
    """Customer views, searches and exports, merges and unmerges, dismissed conflicts, keys
    created, revoked and rotated: who, what and when, newest first."""
    try:
        start = parse_moment(since, "since")
    except MomentError as exc:
        raise ValidationError(str(exc)) from None
    total, items = service.entries(
        conn, action=action, actor=actor, subject=subject, since=start, limit=limit, offset=offset
    )
    return AuditListOut(total=total, items=[AuditEntryOut.model_validate(i) for i in items])
