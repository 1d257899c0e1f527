"""The customer pages: the search (by email, phone, name or id) with the latest customers below,
the screen pop (a phone number to its customer's 360), and the customer 360 — profile,
identities and merges (merge and unmerge for admins), stage and history, scores with their
breakdown, segments, consent, tickets with their SLA clocks, loyalty, and the timeline filtered
by channel, type and period in the address. An agent sees the customers of their queues only
(`services.customers.of_queues`); any other is "not found", as an unknown one is."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection

from touchpoint.domain.access import CONTACT_DETAILS
from touchpoint.domain.vocabulary import CHANNELS, InteractionType
from touchpoint.errors import NotFound, ValidationError
from touchpoint.services import audit, consent, identity, loyalty, scores
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services import tickets as ticket_service
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web.auth import Change, changes, signed_in, touchpoint_of
from touchpoint.web.pages import _center, queues_of
from touchpoint.web.render import PERIOD_LABELS, PERIODS, page, period_start

router = APIRouter()

LIST_SIZE = 50
TIMELINE_SIZE = 50
TICKETS_SHOWN = 20
MERGES_SHOWN = 50

Channel = Annotated[str | None, Query(max_length=20)]
Type = Annotated[str | None, Query(max_length=40)]
Period = Annotated[str, Query(max_length=10)]
Cursor = Annotated[str | None, Query(max_length=100)]


def _queues(request: Request, who: Principal) -> set[str] | None:
    """The queues whose customers the user may open (None: every customer)."""
    return queues_of(_center(request), who)


@router.get("/customers", response_class=HTMLResponse, response_model=None)
def customers(
    request: Request,
    who: Annotated[Principal, signed_in("customers.list")],
    q: Annotated[str | None, Query(max_length=200)] = None,
    stage: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse | RedirectResponse:
    """Search a customer by email, phone, name or id and open their 360; below, the latest
    customers (pseudonymised for a role without contact details; an agent's queues' only)."""
    tp = touchpoint_of(request)
    problem = found = None
    query = (q or "").strip()
    may_search = who.sees_contact_details and who.may("customers.read")
    queues = _queues(request, who)
    with read_connection(tp.engine) as conn:
        if query and may_search:
            try:
                meant = customer_service.find_one(
                    conn, query, default_region=tp.settings.default_region
                )
                found = customer_service.reachable_id(conn, meant, queues)
            except NotFound:  # unknown, or not of the agent's queues: the same answer
                problem = f"no customer known by {query!r}"
            except ValidationError as exc:
                problem = str(exc)
        if stage:
            customer_service.check_stage(conn, stage)
        if queues is None:
            total, items = customer_service.find_customers(
                conn, [], stage=stage or None, limit=LIST_SIZE
            )
        else:
            total, items = customer_service.find_in_queues(
                conn, queues, stage=stage or None, limit=LIST_SIZE
            )
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
        scoped=sorted(queues) if queues is not None else None,
    )


@router.get("/customers/by-phone/{phone}", response_class=RedirectResponse)
def screen_pop(
    request: Request,
    phone: str,
    who: Annotated[Principal, signed_in("customers.read")],
) -> RedirectResponse:
    """The screen pop: the 360 of the customer holding this phone number (E.164, or national in
    the server's default region), for an agent within their queues; else the not-found page."""
    tp = touchpoint_of(request)
    keys = customer_service.lookup_keys(phone=phone, default_region=tp.settings.default_region)
    with read_connection(tp.engine) as conn:
        _total, owners = customer_service.find_customers(conn, keys, limit=1)
        try:
            if not owners:
                raise NotFound
            found = customer_service.reachable_id(conn, owners[0].id, _queues(request, who))
        except NotFound:
            raise NotFound(f"no customer holds the phone number {phone!r}") from None
    audit.record_read(tp.engine, who.actor, "customer.search", None, by=["phone"], found=found)
    return RedirectResponse(f"/app/customers/{found}", status_code=303)


def _shown(channel: str | None, type_: str | None, period: str) -> customer_service.TimelineFilter:
    return customer_service.TimelineFilter(
        channel=channel or None, interaction_type=type_ or None, since=period_start(period)
    )


def _timeline_values(
    conn: Connection,
    customer_id: str,
    channel: str | None,
    type_: str | None,
    period: str,
    cursor: str | None,
) -> dict[str, Any]:
    """One page of the timeline as filtered, and the addresses of the filter and the next page."""
    entries, next_cursor = customer_service.timeline_page(
        conn,
        customer_id,
        limit=TIMELINE_SIZE,
        cursor=cursor or None,
        shown=_shown(channel, type_, period),
    )
    filters = {k: v for k, v in (("channel", channel), ("type", type_)) if v}
    if period != "all":
        filters["period"] = period
    query = urlencode(filters)
    older = urlencode({**filters, "cursor": next_cursor}) if next_cursor else None
    return {
        "timeline": entries,
        "next_cursor": next_cursor,
        "channel": channel or "",
        "type": type_ or "",
        "period": period,
        "periods": PERIOD_LABELS,
        "channels": CHANNELS,
        "types": [t.value for t in InteractionType],
        "filter_query": query,
        "older_query": older,
        "paged": bool(cursor),
        "cid": customer_id,
    }


def _check_period(period: str) -> None:
    if period not in PERIODS:
        period_start(period)  # raises, naming the field and the choices


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(
    request: Request,
    customer_id: str,
    who: Annotated[Principal, signed_in("customers.read")],
    channel: Channel = None,
    type: Type = None,  # noqa: A002 - the address's name, as the API's
    period: Period = "all",
    cursor: Cursor = None,
) -> HTMLResponse:
    """The customer 360: profile, identities, merges, stage and its history, each score model's
    score now with its rules, segments, consent, tickets with their SLA clocks, loyalty, and the
    timeline (newest first, filtered by channel, type and period, a page at a time)."""
    tp = touchpoint_of(request)
    _check_period(period)
    queues = _queues(request, who)
    with read_connection(tp.engine) as conn:
        cid = customer_service.reachable_id(conn, customer_id, queues)
        view = customer_service.customer_view(conn, cid, limit=1)
        values = _timeline_values(conn, cid, channel, type, period, cursor)
        scored = scores.scores_of(conn, tp, cid)
        segments = customer_service.segments_of(conn, cid)
        consent_now = consent.in_force(conn, cid)
        consent_history = consent.history(conn, cid)
        points = loyalty.loyalty_of(conn, cid)
        admin = who.may("identity.change")
        merges = identity.list_merges(conn, cid, limit=MERGES_SHOWN)[1] if admin else []
    tickets = ticket_service.of_customer(tp, cid, limit=TICKETS_SHOWN)
    audit.record_read(tp.engine, who.actor, "customer.view", cid)
    shown = view if who.sees_contact_details else customer_service.pseudonymised(view)
    return page(
        request,
        "customer.html",
        who,
        c=shown,
        view=view,
        tickets=tickets,
        scores=scored,
        segments=segments,
        consent_now=consent_now,
        consent_history=list(reversed(consent_history)),
        loyalty_line=loyalty.describe(points),
        details=who.may(CONTACT_DETAILS),
        admin=admin,
        undoable=[m for m in merges if m.survivor_id == cid and m.undoable],
        **values,
    )


@router.get("/customers/{customer_id}/timeline", response_class=HTMLResponse)
def timeline(
    request: Request,
    customer_id: str,
    who: Annotated[Principal, signed_in("customers.read")],
    channel: Channel = None,
    type: Type = None,  # noqa: A002
    period: Period = "all",
    cursor: Cursor = None,
) -> HTMLResponse:
    """The timeline fragment the filter form and the paging link swap in (htmx); the page's
    address then names the filters, so it can be shared."""
    tp = touchpoint_of(request)
    _check_period(period)
    with read_connection(tp.engine) as conn:
        cid = customer_service.reachable_id(conn, customer_id, _queues(request, who))
        values = _timeline_values(conn, cid, channel, type, period, cursor)
    address = f"/app/customers/{cid}" + (
        f"?{values['filter_query']}" if values["filter_query"] else ""
    )
    pushed = {"HX-Push-Url": address}
    return page(request, "_timeline.html", who, headers=pushed, **values)


@router.post("/customers/{customer_id}/merge", response_class=RedirectResponse)
def merge(
    request: Request,
    customer_id: str,
    change: Annotated[Change, changes("identity.change")],
) -> RedirectResponse:
    """Merge another customer (by id, email, phone or name) into this one, through the service
    the API's `POST /v1/customers/{id}/merge` calls (audited there); then the survivor's 360."""
    tp = touchpoint_of(request)
    other = (change.form.get("other") or "").strip()
    if not other:
        raise ValidationError("other: name the customer to merge in, by id or email")
    with read_connection(tp.engine) as conn:
        other_id = customer_service.find_one(conn, other, default_region=tp.settings.default_region)
    record = identity.merge_customers(tp, customer_id, other_id, actor=change.who.actor)
    return RedirectResponse(f"/app/customers/{record.survivor_id}", status_code=303)


@router.post("/customers/{customer_id}/merges/{merge_id}/unmerge", response_class=RedirectResponse)
def unmerge(
    request: Request,
    customer_id: str,
    merge_id: int,
    change: Annotated[Change, changes("identity.change")],
) -> RedirectResponse:
    """Undo a merge into this customer, through the service the API's
    `POST /v1/merges/{id}/unmerge` calls (audited there); then this customer's 360."""
    done = identity.unmerge(touchpoint_of(request), merge_id, actor=change.who.actor)
    return RedirectResponse(f"/app/customers/{done.survivor_id}", status_code=303)
