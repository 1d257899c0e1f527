"""The customer pages: the search (by email, phone, name or id) with the latest customers below,
and the customer 360."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from touchpoint.domain.access import CONTACT_DETAILS
from touchpoint.errors import NotFound, ValidationError
from touchpoint.services import audit, scores
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import page

router = APIRouter()

LIST_SIZE = 50
TIMELINE_SIZE = 100


@router.get("/customers", response_class=HTMLResponse, response_model=None)
def customers(
    request: Request,
    who: Annotated[Principal, signed_in("customers.list")],
    q: Annotated[str | None, Query(max_length=200)] = None,
    stage: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse | RedirectResponse:
    """Search a customer by email, phone, name or id and open their 360; below, the latest
    customers (pseudonymised for a role without contact details)."""
    tp = touchpoint_of(request)
    problem = found = None
    query = (q or "").strip()
    may_search = who.sees_contact_details and who.may("customers.read")
    with read_connection(tp.engine) as conn:
        if query and may_search:
            try:
                found = customer_service.find_one(
                    conn, query, default_region=tp.settings.default_region
                )
            except (NotFound, ValidationError) as exc:
                problem = str(exc)
        if stage:
            customer_service.check_stage(conn, stage)
        total, items = customer_service.find_customers(conn, [], stage=stage, limit=LIST_SIZE)
        stages = list(lifecycle_service.model_in_force(conn).all_stages)
    if query and may_search:  # a search for a person is audited, found or not
        audit.record_read(tp.engine, who.actor, "customer.search", None, by=["web"], found=found)
    if found is not None:
        return RedirectResponse(f"/app/customers/{found}", status_code=303)
    if not who.sees_contact_details:
        items = [customer_service.pseudonymised(item) for item in items]
    return page(
        request,
        "customers.html",
        who,
        q=query,
        stage=stage or "",
        stages=stages,
        problem=problem,
        total=total,
        items=items,
        may_search=may_search,
        may_open=who.may("customers.read"),
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(
    request: Request,
    customer_id: str,
    who: Annotated[Principal, signed_in("customers.read")],
) -> HTMLResponse:
    """The customer 360: profile, identities, merges, stage and its history, each score model's
    score now with its rules, the timeline (newest first) and the tickets in it."""
    tp = touchpoint_of(request)
    with read_connection(tp.engine) as conn:
        view = customer_service.customer_view(conn, customer_id, limit=TIMELINE_SIZE)
        scored = scores.scores_of(conn, tp, view.id)
    audit.record_read(tp.engine, who.actor, "customer.view", view.id)
    tickets = [e for e in view.timeline if e.type.startswith("ticket_")]
    shown = view if who.sees_contact_details else customer_service.pseudonymised(view)
    return page(
        request,
        "customer.html",
        who,
        c=shown,
        view=view,
        tickets=tickets,
        scores=scored,
        details=who.may(CONTACT_DETAILS),
    )
