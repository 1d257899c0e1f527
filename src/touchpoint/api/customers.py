"""Customer 360: find customers by identity, and one customer's profile and timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from touchpoint.api.deps import ReadConn, TouchpointDep, allowed
from touchpoint.api.schemas import (
    CustomerListOut,
    CustomerViewOut,
    Limit,
    Offset,
    error_responses,
)
from touchpoint.api.scores import CustomerViewScoredOut
from touchpoint.domain.access import CONTACT_DETAILS
from touchpoint.services import audit, scores
from touchpoint.services import customers as service
from touchpoint.services.access import Principal, demand

router = APIRouter(
    prefix="/v1/customers", tags=["customers"], responses=error_responses(401, 403, 422)
)


@router.get("", response_model=CustomerListOut, summary="Find customers by identity, or list all")
def list_customers(
    conn: ReadConn,
    tp: TouchpointDep,
    who: Annotated[Principal, allowed("customers.list")],
    email: str | None = None,
    phone: Annotated[str | None, Query(description="Any format; parsed to E.164")] = None,
    external_id: str | None = None,
    anonymous_id: str | None = None,
    stage: Annotated[
        str | None,
        Query(description="Only customers now in this lifecycle stage, e.g. at_risk"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CustomerListOut:
    """Customers owning the given identity (email normalised, phone parsed to E.164 in the
    server's default region), or every customer when none is given. `stage` keeps those now in
    that lifecycle stage — alone, it lists the stage's customers, most recent arrivals first (who
    just became at_risk?). `total` counts all matches; `limit`/`offset` page through them."""
    keys = service.lookup_keys(
        email=email,
        phone=phone,
        external_id=external_id,
        anonymous_id=anonymous_id,
        default_region=tp.settings.default_region,
    )
    if keys:  # a lookup by identity names a person: it needs their contact details
        demand(who, CONTACT_DETAILS)
    total, items = service.find_customers(conn, keys, stage=stage, limit=limit, offset=offset)
    if not who.sees_contact_details:
        items = [service.pseudonymised(item) for item in items]
    if keys:  # a lookup of a person (a listing by stage is not a search for someone)
        searched = [k.partition(":")[0] for k in keys]
        audit.record_read(tp.engine, who.actor, "customer.search", None, by=searched, found=total)
    return CustomerListOut.model_validate({"total": total, "items": items}, from_attributes=True)


@router.get(
    "/{customer_id}",
    response_model=CustomerViewScoredOut,
    summary="One customer: profile and timeline",
    responses=error_responses(404),
)
def get_customer(
    customer_id: str,
    conn: ReadConn,
    tp: TouchpointDep,
    who: Annotated[Principal, allowed("customers.read")],
    limit: Annotated[int, Query(ge=1, le=500, description="Timeline page size")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> CustomerViewScoredOut:
    """The customer 360: profile and traits, every identity, merges, the lifecycle stage with its
    full history (from, to, when, the interaction that caused it), the interaction timeline,
    newest first, a page at a time (`next_cursor`), and each score model's score now with its
    breakdown. A merged-away id answers with its survivor."""
    view = service.customer_view(conn, customer_id, limit=limit, cursor=cursor)
    scored = scores.scores_of(conn, tp, view.id)
    audit.record_read(tp.engine, who.actor, "customer.view", view.id)
    values = CustomerViewOut.model_validate(view, from_attributes=True).model_dump()
    return CustomerViewScoredOut.model_validate({**values, "scores": scored}, from_attributes=True)
