"""Outbound campaigns: every campaign with its status, pacing, records open and closed and its
30-day answer and drop rates, and one campaign's records by state, attempts and first records
(`services.outbound`, as `touchpoint cc campaign list|show` and `/v1/campaigns`). An agent sees
the campaigns of their own queues; phone numbers and names only a role that sees contact
details."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.errors import NotFound
from touchpoint.services import outbound
from touchpoint.services.access import Principal
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.pages import _center, queues_of
from touchpoint.web.render import page

router = APIRouter()


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(request: Request, who: Annotated[Principal, signed_in("cc.read")]) -> HTMLResponse:
    """The campaigns, newest first as the service lists them."""
    allowed = queues_of(_center(request), who)
    shown = [
        c
        for c in outbound.campaigns(touchpoint_of(request))
        if allowed is None or c.queue in allowed
    ]
    return page(request, "campaigns.html", who, campaigns=shown)


@router.get("/campaigns/{ref}", response_class=HTMLResponse)
def campaign(
    request: Request, ref: str, who: Annotated[Principal, signed_in("cc.read")]
) -> HTMLResponse:
    """One campaign: settings, records by state, attempts, 30-day figures, its first records."""
    detail = outbound.campaign(touchpoint_of(request), ref)
    allowed = queues_of(_center(request), who)
    if allowed is not None and detail.campaign.queue not in allowed:
        raise NotFound(f"no campaign {ref!r}")  # another queue's: as if it did not exist
    return page(
        request,
        "campaign.html",
        who,
        c=detail.campaign,
        records=detail.records,
        details=who.sees_contact_details,
    )
