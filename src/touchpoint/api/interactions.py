"""POST interactions one at a time or in batches; each item is accepted, a duplicate, or rejected."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from touchpoint.api.deps import IngestKey, TouchpointDep
from touchpoint.api.schemas import BatchResultOut, ItemResultOut, error_responses
from touchpoint.errors import ValidationError
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.ingest.schema import InteractionIn

router = APIRouter(
    prefix="/v1/interactions",
    tags=["interactions"],
    responses=error_responses(400, 401, 403, 413, 422),
)


def result_out(result: ItemResult) -> ItemResultOut:
    return ItemResultOut(
        index=result.position,
        status=result.status,
        id=result.id,
        customer_id=result.customer_id,
        reason=result.reason,
    )


def batch_out(report: IngestReport) -> BatchResultOut:
    return BatchResultOut(
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=len(report.rejected),
        results=[result_out(r) for r in report.results],
    )


@router.post(
    "",
    response_model=ItemResultOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record one interaction",
    responses={
        200: {"description": "Already stored (same id): nothing changed", "model": ItemResultOut}
    },
)
def post_interaction(
    interaction: InteractionIn, tp: TouchpointDep, _key: IngestKey, response: Response
) -> ItemResultOut:
    """Store one interaction, resolving who the customer is from its identities (a merge if
    it ties two known customers), and update the customer's lifecycle stage. The `id` is the
    idempotency key: sending the same id again stores nothing and answers 200. Needs an ingest key.
    """
    raw = interaction.model_dump(mode="json", exclude_unset=True)
    report = tp.ingestor.ingest([(0, raw)])
    result = report.results[0]
    if result.status == "rejected":
        raise ValidationError(result.reason or "rejected")
    if result.status == "duplicate":
        response.status_code = status.HTTP_200_OK
    return result_out(result)


@router.post("/batch", response_model=BatchResultOut, summary="Record many interactions")
def post_batch(
    tp: TouchpointDep,
    _key: IngestKey,
    interactions: Annotated[
        list[dict[str, Any]],
        Body(
            embed=True,
            description="Interactions, each in the shape POST /v1/interactions takes. "
            "Bad items are rejected one by one with a reason; the rest are stored.",
        ),
    ],
) -> BatchResultOut:
    """Store many interactions in one call. Each item is answered on its own — accepted,
    duplicate (its id is already stored) or rejected with the field and reason — and the good
    items are stored even when others are rejected. Needs an ingest key."""
    limit = tp.settings.max_batch_items
    if len(interactions) > limit:
        raise ValidationError(
            f"batch has {len(interactions)} interactions; at most {limit} allowed"
        )
    return batch_out(tp.ingestor.ingest(enumerate(interactions)))
