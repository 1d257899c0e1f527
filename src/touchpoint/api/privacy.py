"""Privacy over the API (admin): one person's data as one JSON document, and its erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.services import privacy as service
from touchpoint.services.access import Principal

router = APIRouter(
    prefix="/v1/privacy", tags=["privacy"], responses=error_responses(401, 403, 404, 422)
)

CustomerId = Annotated[
    str, Path(max_length=40, description="A customer id (a merged-away id names its survivor)")
]


class ErasureOut(BaseModel):
    customer_id: str = Field(description="The customer erased (after following merges)")
    customer_ids: list[str] = Field(description="It and every customer merged into it")
    identities: int = Field(description="Identities removed; their hashes are suppressed")
    interactions: int = Field(
        description="Interactions pseudonymised (counts, types, channels, times and revenue kept)"
    )
    merges: int = Field(description="Merge records stripped of identities and profiles")
    copy_removed: bool = Field(description="The analytics copy was deleted (rebuilt on next use)")
    compacted: bool | None = Field(
        description="SQLite: the file was rebuilt and its WAL emptied; null on PostgreSQL"
    )
    residue: list[str] = Field(description="Data files still holding an erased value (none)")


@router.get(
    "/customers/{customer_id}/export",
    summary="Everything held about one person",
    response_model=dict[str, Any],
)
def export_customer(
    tp: TouchpointDep,
    who: Annotated[Principal, allowed("privacy.export")],
    customer_id: CustomerId,
) -> dict[str, Any]:
    """Profile and traits, identities, merge records, every interaction, lifecycle stage and
    history, consent history and the audit entries about them, as one JSON document (a data
    subject's access request). Recorded in the audit trail."""
    return service.export(tp, customer_id, actor=who.actor)


@router.post(
    "/customers/{customer_id}/erase",
    response_model=ErasureOut,
    summary="Erase one person's personal data",
)
def erase_customer(
    tp: TouchpointDep,
    who: Annotated[Principal, allowed("privacy.erase")],
    customer_id: CustomerId,
) -> ErasureOut:
    """Remove the person's identities, traits and the personal fields of their interactions,
    merge records and conflicts, from the system of record and the analytics copy; their
    interactions stay, pseudonymised, so counts and revenue do not change. Their identities go
    on the suppression list (as hashes): a later event naming one is rejected, not stored.
    Cannot be undone. Recorded in the audit trail (without the erased data)."""
    erased = service.erase(tp, customer_id, actor=who.actor)
    return ErasureOut(
        customer_id=erased.customer_id,
        customer_ids=list(erased.customer_ids),
        identities=erased.identities,
        interactions=erased.interactions,
        merges=erased.merges,
        copy_removed=erased.copy_removed,
        compacted=erased.compacted,
        residue=list(erased.residue),
    )
