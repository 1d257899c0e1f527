"""POST interactions one at a time or in batches; each item is accepted, a duplicate, or rejected."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from touchpoint.api.deps import IngestKey, TouchpointDep
from touchpoint.api.schemas import BatchResultOut, ItemResultOut
from touchpoint.errors import ValidationError
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.ingest.schema import InteractionIn

router = APIRouter(prefix="/v1/interactions", tags=["interactions"])


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
    limit = tp.settings.max_batch_items
    if len(interactions) > limit:
        raise ValidationError(
            f"batch has {len(interactions)} interactions; at most {limit} allowed"
        )
    return batch_out(tp.ingestor.ingest(enumerate(interactions)))
