"""The audit trail for an admin: who read or changed what and when (customer views, searches,
exports, merges, erasures, consent changes, keys, users, configuration, model trainings),
newest first, filtered by action, actor, subject and a start moment in the address, a page at a
time (`services.audit.entries`, as `touchpoint audit` and `GET /v1/audit`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.domain.vocabulary import AUDIT_ACTIONS
from touchpoint.errors import ValidationError
from touchpoint.services import audit
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import page

router = APIRouter()
SHOWN = 50
Text = Annotated[str, Query(max_length=400)]


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    who: Annotated[Principal, signed_in("audit.read")],
    action: Text = "",
    actor: Text = "",
    subject: Text = "",
    since: Text = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    """The trail as filtered, SHOWN entries from `offset`, with the address of the next page."""
    try:
        start = parse_moment(since, "since") if since else None
    except MomentError as exc:
        raise ValidationError(str(exc)) from None
    with read_connection(touchpoint_of(request).engine) as conn:
        total, entries = audit.entries(
            conn,
            action=action or None,
            actor=actor or None,
            subject=subject or None,
            since=start,
            limit=SHOWN,
            offset=offset,
        )
    filters = {
        k: v
        for k, v in (("action", action), ("actor", actor), ("subject", subject), ("since", since))
        if v
    }
    older = offset + SHOWN
    return page(
        request,
        "audit.html",
        who,
        entries=entries,
        total=total,
        offset=offset,
        actions=AUDIT_ACTIONS,
        action=action,
        actor=actor,
        subject=subject,
        since=since,
        older_query=urlencode({**filters, "offset": older}) if older < total else None,
    )
