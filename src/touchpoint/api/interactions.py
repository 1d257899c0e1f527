"""POST interactions one at a time or in batches; each item is accepted, a duplicate, a conflict
(its id is stored with other content) or rejected."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from touchpoint.api.deps import IngestKey, TouchpointDep
from touchpoint.api.schemas import BatchResultOut, ErrorOut, ItemResultOut, error_responses
from touchpoint.errors import Conflict, ValidationError
from touchpoint.ingest.batch_body import NDJSON_TYPES, BatchBody, read_batch_body
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.ingest.schema import InteractionIn
from touchpoint.services import recording

router = APIRouter(
    prefix="/v1/interactions",
    tags=["interactions"],
    responses=error_responses(400, 401, 403, 413, 422),
)


def result_out(result: ItemResult, line: int | None = None, *, reveal: bool) -> ItemResultOut:
    """An item's answer; `customer_id` only for a caller who may learn which customer an
    identity belongs to (not an ingest key: it writes, and learns nothing back)."""
    return ItemResultOut(
        index=result.position,
        line=line,
        status=result.status,
        id=result.id,
        customer_id=result.customer_id if reveal else None,
        reason=result.reason,
        differs=list(result.differs) if result.status == "conflict" else None,
        warnings=list(result.warnings) or None,
    )


def batch_out(
    report: IngestReport, lines: list[int] | None = None, *, reveal: bool
) -> BatchResultOut:
    return BatchResultOut(
        accepted=report.accepted,
        duplicates=report.duplicates,
        conflicts=len(report.conflicts),
        rejected=len(report.rejected),
        results=[
            result_out(r, lines[r.position] if lines else None, reveal=reveal)
            for r in report.results
        ],
    )


@router.post(
    "",
    response_model=ItemResultOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record one interaction",
    responses={
        200: {"description": "Already stored (same id): nothing changed", "model": ItemResultOut},
        409: {
            "model": ErrorOut,
            "description": "Its id is already stored with other content: nothing stored; the "
            "detail names the fields that differ",
        },
    },
)
def post_interaction(
    interaction: InteractionIn, tp: TouchpointDep, who: IngestKey, response: Response
) -> ItemResultOut:
    """Store one interaction, resolving who the customer is from its identities (a merge if
    it ties two known customers), and update the customer's lifecycle stage. The `id` is the
    idempotency key: sending the same interaction again stores nothing and answers 200; sending
    its id with other content stores nothing and answers 409 naming the fields that differ. An
    interaction dated in the future (past the server's clock by more than 5 minutes) is refused.
    """
    raw = interaction.model_dump(mode="json", exclude_unset=True)
    report = recording.record(tp, [(0, raw)], actor=who.actor)
    result = report.results[0]
    if result.status == "rejected":
        raise ValidationError(result.reason or "rejected")
    if result.status == "conflict":
        raise Conflict(result.reason or "conflict")
    if result.status == "duplicate":
        response.status_code = status.HTTP_200_OK
    return result_out(result, reveal=who.sees_contact_details)


async def batch_body(request: Request) -> BatchBody:
    """The batch's items from the body (inflated from gzip by the middleware), by its type."""
    return read_batch_body(request.headers.get("content-type"), await request.body())


_ITEM_DOC = (
    "An interaction in the shape POST /v1/interactions takes (InteractionIn); an item that is "
    "not is rejected on its own, with the field and the reason, and the rest are stored"
)
_EXAMPLE = {
    "id": "call-20260301-0042",
    "type": "call",
    "channel": "phone",
    "occurred_at": "2026-03-01T09:15:00Z",
    "customer": {"phone": "+1 202 555 0142"},
    "duration_s": 312,
}
_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The interactions: a JSON array, the array as `interactions` in an "
        "object, or NDJSON (one interaction per line, `application/x-ndjson` or "
        "`application/jsonl`). May be gzipped (`Content-Encoding: gzip`).",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "array", "items": {"description": _ITEM_DOC}},
                        {
                            "type": "object",
                            "required": ["interactions"],
                            "properties": {
                                "interactions": {
                                    "type": "array",
                                    "items": {"description": _ITEM_DOC},
                                }
                            },
                        },
                    ]
                },
                "examples": {
                    "array": {"summary": "A JSON array", "value": [_EXAMPLE]},
                    "object": {
                        "summary": "The array as `interactions`",
                        "value": {"interactions": [_EXAMPLE]},
                    },
                },
            },
            **{
                media: {
                    # No type: the body is text, one JSON value per line, each answered on its
                    # own (a line that is not an interaction is rejected by its index and line).
                    "schema": {
                        "description": "One interaction per line (blank lines are skipped), "
                        'e.g. `{"type": "page_view", "channel": "web", "occurred_at": '
                        '"2026-03-01T09:15:00Z", "customer": {"anonymous_id": "d-1"}}`',
                    }
                }
                for media in NDJSON_TYPES
            },
        },
    }
}


@router.post(
    "/batch",
    response_model=BatchResultOut,
    summary="Record many interactions",
    openapi_extra=_BATCH_BODY,
    responses=error_responses(415),
)
def post_batch(
    tp: TouchpointDep, who: IngestKey, body: Annotated[BatchBody, Depends(batch_body)]
) -> BatchResultOut:
    """Store many interactions in one call: a JSON array (or `{"interactions": [...]}`), or
    NDJSON, one interaction per line. Each item is answered on its own, by its `index` (and its
    `line` in NDJSON) — accepted, duplicate (stored already, the same content), conflict (its id
    is stored with other content: nothing stored, `differs` names the fields) or rejected with
    the field and reason (an invalid item, a line that is not JSON, a date in the future) — and
    the good items are stored even when others are not."""
    limit = tp.settings.max_batch_items
    if len(body.items) > limit:
        raise ValidationError(f"batch has {len(body.items)} interactions; at most {limit} allowed")
    report = recording.record(tp, enumerate(body.items), actor=who.actor)
    return batch_out(report, body.lines, reveal=who.sees_contact_details)
