"""Identity: the conflicts merge protection recorded (read key), merge records, and merging or
unmerging customers by hand (admin key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import ReadConn, TouchpointDep, allowed
from touchpoint.api.schemas import MAX_ID, Limit, Offset, error_responses
from touchpoint.services import identity as service
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("identity.read")]
Changer = Annotated[Principal, allowed("identity.change")]

router = APIRouter(tags=["identity"], responses=error_responses(401, 403, 422))

Status = Literal["open", "merged", "dismissed", "all"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ConflictOut(_Out):
    id: int
    customer_id: str = Field(description="Where the blocked events landed (its current id)")
    other_id: str = Field(description="Who keeps the contested identity (its current id)")
    kind: str = Field(description="The contested identity's kind, e.g. email")
    value: str
    reason: str = Field(
        description="`limit:<kind>`: both hold identities of a kind the merge limit protects "
        "(TOUCHPOINT_MERGE_LIMITS); `unmerged`: a merge between them was undone by hand"
    )
    interaction_id: str = Field(description="The first event it blocked")
    first_at: datetime
    last_at: datetime
    events: int = Field(description="How many events it blocked")
    status: Status = Field(
        description="open; merged (the two are one customer now); dismissed (kept apart)"
    )


class ConflictListOut(_Out):
    total: int
    items: list[ConflictOut]


class MergeOut(_Out):
    id: int = Field(description="The merge id, to undo it")
    survivor_id: str
    merged_id: str
    cause: Literal["identity", "alias", "manual"] = Field(
        description="identity: an event shared a key; alias: a Segment alias; manual: by hand"
    )
    merged_at: datetime
    linking_key: str | None = Field(None, description="The identity that tied them")
    interaction_id: str | None = Field(None, description="The event that tied them")
    moved_keys: list[str]
    undone_at: datetime | None = None
    undoable: bool = Field(description="It holds and can be undone")


class MergeListOut(_Out):
    total: int
    items: list[MergeOut]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, description="The customer to merge with this one")


class UnmergeOut(_Out):
    merge_id: int
    survivor_id: str = Field(description="Kept everything else")
    restored_id: str = Field(description="Answers with itself again")
    keys: list[str] = Field(description="Identities that went back to it")
    interactions: int = Field(description="Interactions that went back to it")
    undone_at: datetime


@router.get(
    "/v1/identity/conflicts",
    response_model=ConflictListOut,
    summary="Merges that merge protection blocked",
)
def list_conflicts(
    conn: ReadConn,
    _who: Reader,
    status: Annotated[Status, Query(description="Which conflicts")] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> ConflictListOut:
    """Events that named one customer but also carried an identity another customer holds,
    when merging the two would have given one customer more identities of a kind than the merge
    limit allows (by default: two external ids), or when a merge between them was undone. The
    events stayed with the customer their strongest identity names; the identity stayed with its
    owner. Most recently hit first. Merge the two (`POST /v1/customers/{id}/merge`) if they are
    one person, or dismiss the conflict."""
    total, items = service.list_conflicts(conn, status=status, limit=limit, offset=offset)
    return ConflictListOut.model_validate({"total": total, "items": items})


@router.post(
    "/v1/identity/conflicts/{conflict_id}/dismiss",
    response_model=ConflictOut,
    summary="Keep a conflict's two customers apart",
    responses=error_responses(404),
)
def dismiss_conflict(
    tp: TouchpointDep, who: Changer, conflict_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> ConflictOut:
    """Mark the conflict reviewed: the two are different people. Events that hit it again are
    still counted."""
    return ConflictOut.model_validate(service.dismiss_conflict(tp, conflict_id, actor=who.actor))


@router.get(
    "/v1/identity/merges",
    response_model=MergeListOut,
    summary="Merge records",
    responses=error_responses(404),
)
def list_merges(
    conn: ReadConn,
    _who: Reader,
    customer_id: Annotated[
        str | None, Query(description="Only merges naming this customer (or who it is now)")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MergeListOut:
    """Every merge, newest first: what tied the two (a shared identity, an alias, or a person),
    what moved, and whether it still holds. An unknown `customer_id` is a 404."""
    total, items = service.list_merges(conn, customer_id, limit=limit, offset=offset)
    return MergeListOut.model_validate({"total": total, "items": items})


@router.post(
    "/v1/customers/{customer_id}/merge",
    response_model=MergeOut,
    summary="Merge two customers by hand",
    responses=error_responses(400, 404, 413),
    tags=["customers"],
)
def merge_customers(
    tp: TouchpointDep,
    who: Changer,
    customer_id: Annotated[str, Path(description="One of the two customers")],
    body: Annotated[MergeIn, Body()],
) -> MergeOut:
    """Merge two customers into one: the one created first survives (as in every merge), the
    other's identities and interactions move to it, traits keep each one's newest value, and the
    lifecycle is refolded. Merge protection does not apply. Undo it with
    `POST /v1/merges/{merge_id}/unmerge`. Merging a customer with itself is a 422."""
    return MergeOut.model_validate(
        service.merge_customers(tp, customer_id, body.customer_id, actor=who.actor)
    )


@router.post(
    "/v1/merges/{merge_id}/unmerge",
    response_model=UnmergeOut,
    summary="Undo a merge",
    responses=error_responses(404, 409),
    tags=["customers"],
)
def unmerge(
    tp: TouchpointDep, who: Changer, merge_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> UnmergeOut:
    """Undo a merge (by hand, by alias, or by a shared identity): the merged customer answers with
    its own id again, with its identities, its profile as it was, and every interaction that came
    from it (by the identities each carried); the survivor gets back the traits the merge
    overwrote; both are refolded. Afterwards a shared identity between the two is a conflict,
    not a merge. An unknown merge is a 404; one already undone is a 409."""
    return UnmergeOut.model_validate(service.unmerge(tp, merge_id, actor=who.actor))
