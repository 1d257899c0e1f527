"""Predictive scores over HTTP: the trained models with their metrics beside the baselines, and
one customer's predictions with their top reasons. Training is the CLI's (`touchpoint model
train`): it reads the whole log for minutes, not a request's work."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.domain.predictions import TARGETS
from touchpoint.services import audit
from touchpoint.services import models as service
from touchpoint.services.access import Principal

Analyst = Annotated[Principal, allowed("analytics.read")]
Reader = Annotated[Principal, allowed("customers.read")]

router = APIRouter(tags=["models"], responses=error_responses(401, 403))

ModelName = Annotated[
    str, Path(pattern=f"^({'|'.join(TARGETS)})$", description=" or ".join(TARGETS))
]


class Reason(BaseModel):
    group: str = Field(description="A feature group: recency, support, surveys…")
    effect: float = Field(
        description="How far this group moves the probability from a typical customer's"
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    trained_at: datetime
    at: datetime = Field(description='"Now" of the training; the test cut-off is at − horizon')
    horizon_days: int
    cutoffs: list[datetime] = Field(description="The training cut-offs, then the test cut-off")
    features: list[str]
    roc_auc: float | None = Field(description="The model's ROC AUC on the test cut-off")
    baseline_roc_auc: float | None = Field(description="The better baseline's, on the same rows")
    scored: int = Field(description="Customers scored by the latest run (latest version only)")
    mean_probability: float | None
    scored_at: datetime | None


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description='"model", or the baseline it is')
    rows: int
    positives: int
    base_rate: float
    roc_auc: float | None
    pr_auc: float | None
    brier: float
    calibration: list[dict[str, float]]
    lift: list[dict[str, float]]


class ScoredOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    probability: float
    reasons: list[Reason]


class ModelDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    view: ModelOut
    scored: str = Field(description="Who the model scores")
    positive: str = Field(description="What counts as a yes")
    evaluations: list[EvaluationOut] = Field(description="The model first, then the baselines")
    importance: dict[str, float] = Field(
        description="Per feature group: the drop in test ROC AUC when it is shuffled"
    )
    rows: dict[str, int]
    versions: dict[str, str]
    top: list[ScoredOut] = Field(description="The highest-scored customers (latest version)")


class PredictionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    version: int
    probability: float
    reasons: list[Reason]
    scored_at: datetime


class PredictionsOut(BaseModel):
    customer_id: str
    predictions: list[PredictionOut]


@router.get("/v1/models", response_model=list[ModelOut], summary="Trained models and versions")
def list_models(tp: TouchpointDep, who: Analyst) -> Any:
    """Every trained version of every model, newest first per model, with its test ROC AUC
    beside the better baseline's."""
    return service.list_models(tp)


@router.get(
    "/v1/models/{name}",
    response_model=ModelDetailOut,
    summary="One model: metrics beside the baselines",
    responses=error_responses(404, 422),
)
def get_model(
    name: ModelName,
    tp: TouchpointDep,
    who: Analyst,
    version: Annotated[int | None, Query(ge=1, description="Default: the latest")] = None,
    top: Annotated[int, Query(ge=0, le=100, description="Highest-scored customers")] = 10,
) -> Any:
    """A version's ROC AUC, PR AUC, Brier score, calibration and lift by decile on the test
    cut-off, beside the baselines measured on the same rows; feature groups' importance; the
    highest-scored customers with their top reasons."""
    return service.show(tp, name, version, top=top)


@router.get(
    "/v1/customers/{customer_id}/predictions",
    response_model=PredictionsOut,
    summary="A customer's predictive scores",
    responses=error_responses(404),
)
def customer_predictions(customer_id: str, tp: TouchpointDep, who: Reader) -> Any:
    """The customer's latest probability per model, with the model version and the top reasons
    (from the model: how far each feature group moves this customer's probability). A model not
    meant for them (conversion, once converted) has none. A merged-away id answers with its
    survivor's."""
    found = service.predictions_of(tp, customer_id)
    audit.record_read(tp.engine, who.actor, "customer.view", customer_id, part="predictions")
    return {"customer_id": customer_id, "predictions": found}
