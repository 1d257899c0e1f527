"""Next best action over HTTP: `GET /v1/decide` tells a chat widget or an agent's screen what to
do now for one visitor (offer chat, a callback, a retention offer, a greeting), naming the rule
that fired and why.

Who may ask what: a caller that may see contact details (read keys, agents, managers, admins)
may name the visitor by any identity and gets personal answers (a greeting by name). A browser
key (public in a page) or an ingest key may name the visitor only by the anonymous id the page
itself holds, and never gets a personal rule's answer nor the customer's id: a public key must
not learn who is behind an arbitrary anonymous id, nor probe which emails are customers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from touchpoint.api import segment
from touchpoint.api.cors import note_origin
from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.errors import Forbidden
from touchpoint.services import decide as service
from touchpoint.services.access import Principal

PATH = "/v1/decide"
Asker = Annotated[Principal, allowed("decisions.read")]

router = APIRouter(tags=["decide"], responses=error_responses(400, 401, 403, 422))


class DecisionOut(BaseModel):
    action: str = Field(
        description="offer_chat, offer_callback, retention_offer, greet, show_message or none"
    )
    rule: str | None = Field(description="The rule that fired (None: none did)")
    message: str = Field(description="What to show the visitor")
    reasons: list[str] = Field(description="Why the rule fired, condition by condition")
    customer_id: str | None = Field(
        description="The customer (only to callers that may see contact details)"
    )
    recorded: str | None = Field(
        description="The id of the decision_shown interaction written (None: nothing shown)"
    )


@router.get(PATH, response_model=DecisionOut, summary="What to do now for one visitor")
async def decide(
    request: Request,
    tp: TouchpointDep,
    who: Asker,
    anonymous_id: Annotated[str | None, Query(max_length=200)] = None,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=50, description="Any format")] = None,
    page: Annotated[
        str | None, Query(max_length=2000, description="The page now shown: a URL or a path")
    ] = None,
    record: Annotated[
        bool, Query(description="Write the decision shown to the log (false: only look)")
    ] = True,
) -> Response:
    """Name the visitor by exactly one identity. Rules are the decision rules file (settings
    `decision_rules_file`, else the shipped one); the first whose conditions hold answers. A
    decision other than `none` is written as a `decision_shown` interaction (once per visitor,
    rule and minute) unless `record=false`.

    It runs on the server's event loop, not in the thread pool: its reads are a few indexed
    lookups (`Touchpoint.loop_engine`) and the decision shown is written behind, so a hop to a
    thread and back would cost more than the work."""
    note_origin(request, who.origin)
    personal = who.sees_contact_details
    if not personal and (external_id or email or phone):
        raise Forbidden(
            f"this key's role, {who.role}, may name the visitor only by anonymous_id "
            "(the id the page itself holds)"
        )
    identity = {
        "anonymous_id": anonymous_id or "",
        "external_id": external_id or "",
        "email": email or "",
        "phone": phone or "",
    }
    found = service.decide(
        tp,
        identity,
        page=page,
        personal=personal,
        record=record,
        actor=who.actor,
        write_behind=True,
        reader=tp.loop_engine,
    )
    answer = DecisionOut(
        action=found.action,
        rule=found.rule,
        message=found.message,
        reasons=list(found.reasons),
        customer_id=found.customer_id,
        recorded=found.recorded,
    )
    # Serialised here, not validated again against the response model by FastAPI.
    return Response(answer.model_dump_json(), media_type="application/json")


def cors_method(path: str) -> str | None:
    """Segment's paths (api/segment.py), and GET on /v1/decide, which a widget calls with its
    page's browser key."""
    return "GET" if path == PATH else segment.cors_method(path)
