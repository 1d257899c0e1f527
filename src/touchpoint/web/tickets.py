"""The tickets list: status, priority, owner, queue and each SLA clock's due time (or breach),
filtered by queue and status in the address, through `services.tickets.find` (the API's
`GET /v1/tickets`). An agent sees the tickets of their own queues only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from touchpoint.domain import tickets as terms
from touchpoint.errors import Forbidden
from touchpoint.services import tickets as ticket_service
from touchpoint.services.access import Principal
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.pages import Queue, _center, queues_of
from touchpoint.web.render import page

router = APIRouter()
LIST_SIZE = 100


@router.get("/tickets", response_class=HTMLResponse)
def tickets(
    request: Request,
    who: Annotated[Principal, signed_in("tickets.read")],
    queue: Queue = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Tickets newest first with their clocks; an unknown status is refused naming the choices."""
    config = _center(request)
    allowed = queues_of(config, who)
    queues = sorted(config.queues) if config else []
    if allowed is not None:
        if queue is not None and queue not in allowed:
            mine = ", ".join(sorted(allowed)) or "none: no agent of the center is yours"
            raise Forbidden(
                f"{who.actor} is an agent and sees only their own queues' tickets ({mine}), "
                f"not {queue!r}"
            )
        queues = sorted(allowed)
        queue = queue or (queues[0] if queues else "")  # an agent looks at one of theirs
    total, found = ticket_service.find(
        touchpoint_of(request), status=status or None, queue=queue or None, limit=LIST_SIZE
    )
    return page(
        request,
        "tickets.html",
        who,
        items=found,
        total=total,
        queue=queue or "",
        status=status or "",
        queues=queues,
        statuses=terms.STATUSES,
        scoped=allowed is not None,
    )
