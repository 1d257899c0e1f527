"""Predictive scores for every face: train a conversion or churn model on the log (features as of
earlier cut-offs, tested on a later one beside the baselines), keep its file and its metrics,
score every customer it is meant for with the top reasons, and read the models and a customer's
predictions back. Training reads the columnar copy (DuckDB); everything kept is in the system
of record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import Connection
from threadpoolctl import threadpool_limits

from touchpoint.analytics import features as feats
from touchpoint.analytics import models as ml
from touchpoint.analytics.model_metrics import Evaluation
from touchpoint.analytics.sources import open_sources
from touchpoint.domain import predictions as terms
from touchpoint.errors import NotFound, ValidationError
from touchpoint.projections.segments import rescore
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.services.customers import current_id
from touchpoint.store import models as store
from touchpoint.store.engine import read_connection, write_transaction

MODELS_DIR = "models"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelView:
    name: str
    version: int
    trained_at: datetime
    at: datetime
    horizon_days: int
    cutoffs: list[datetime]
    features: list[str]
    path: str
    roc_auc: float | None  # the model's, on the test cut-off
    baseline_roc_auc: float | None  # the better baseline's
    scored: int = 0
    mean_probability: float | None = None
    scored_at: datetime | None = None


@dataclass(frozen=True)
class ScoredCustomer:
    customer_id: str
    probability: float
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class ModelDetail:
    view: ModelView
    scored: str  # who the target scores
    positive: str  # what counts as a yes
    evaluations: list[Evaluation]
    importance: dict[str, float]
    rows: dict[str, int]
    versions: dict[str, str]
    top: list[ScoredCustomer] = field(default_factory=list)


@dataclass(frozen=True)
class Prediction:
    model: str
    version: int
    probability: float
    reasons: list[dict[str, Any]]
    scored_at: datetime


def _now(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _horizon(horizon: str | int) -> int:
    try:
        return horizon if isinstance(horizon, int) else terms.parse_horizon(horizon)
    except terms.PredictionError as exc:
        raise ValidationError(str(exc)) from None


def _target(name: str) -> terms.TargetTerms:
    try:
        return terms.check_target(name)
    except terms.PredictionError as exc:
        raise ValidationError(str(exc)) from None


def train(
    tp: Touchpoint,
    name: str,
    *,
    at: datetime | None = None,
    horizon: str | int = terms.DEFAULT_HORIZON_DAYS,
    progress: Progress = lambda step: None,
    actor: str = "system",
) -> ModelDetail:
    """Train `name` (conversion or churn) as of `at` (default now), test it on the cut-off one
    horizon before `at`, save it as the next version and score every customer it is meant for;
    the training is in the audit trail with `actor`, the version and its test ROC AUC."""
    _target(name)
    days, now = _horizon(horizon), _now(at)
    cuts = terms.cutoffs(now, days)
    awards = _lead_awards(tp)
    progress("refreshing the columnar copy")
    with open_sources(tp.settings) as sources:
        frames = []
        for cut in cuts:
            progress(f"features and labels as of {cut:%Y-%m-%d}")
            lead = _lead_scores(sources, awards, cut)
            frames.append(
                feats.dataset(sources, target=name, cutoff=cut, horizon_days=days, lead_scores=lead)
            )
        training = pd.concat(frames[:-1])
        trained = ml.train(
            name, training, frames[-1], at=now, horizon_days=days, cutoffs=cuts, progress=progress
        )
        progress("scoring every customer")
        lead = _lead_scores(sources, awards, now)
        current = feats.dataset(
            sources, target=name, cutoff=now, horizon_days=None, lead_scores=lead
        )
    progress("saving the model")
    with write_transaction(tp.engine) as conn:
        number = store.next_version(conn, name)
        path = tp.settings.data_dir / MODELS_DIR / f"{name}-v{number}.joblib"
        digest = ml.save(trained, path)
        store.add_version(
            conn,
            name=name,
            version=number,
            trained_at=datetime.now(UTC),
            at=now,
            horizon_days=days,
            cutoffs=[c.isoformat() for c in cuts],
            features=trained.features,
            metrics=trained.metrics(),
            versions=trained.versions,
            path=str(path),
            sha256=digest,
        )
        store.replace_scores(conn, name, _score_rows(trained, current, number, now))
        _rescore_segments(tp, conn)
        audit.record(
            conn, actor, "model.train", f"{name}-v{number}", at=now.isoformat(), horizon_days=days
        )
    return show(tp, name, number)


def _lead_awards(tp: Touchpoint) -> tuple[pd.DataFrame, float | None]:
    with read_connection(tp.engine) as conn:
        rows, half_life = store.score_awards(conn, terms.LEAD_SCORE_MODEL)
    frame = pd.DataFrame(rows, columns=["customer_id", "at", "points"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame, half_life


def _lead_scores(
    sources: Any, awards: tuple[pd.DataFrame, float | None], cutoff: datetime
) -> Any | None:
    """customer_id (the sources' key) -> the lead score as it stood at `cutoff`: the awards
    given up to then, each decayed to then — never today's score, which knows the future.
    None when there is no lead-score model (the feature stays empty)."""
    frame, half_life = awards
    cut = (
        pd.Timestamp(cutoff).tz_convert("UTC") if cutoff.tzinfo else pd.Timestamp(cutoff, tz="UTC")
    )
    frame = frame[frame["at"] <= cut]
    if frame.empty:
        return None
    age_s = (cut - frame["at"]).dt.total_seconds()
    weight = 1.0 if half_life is None else 2.0 ** (-age_s / half_life)
    scores = (frame["points"] * weight).groupby(frame["customer_id"]).sum()
    keys = sources.customer_keys
    if keys is not None:
        mapping = sources.backend.to_pyarrow(keys).to_pandas().set_index("id")["key"]
        scores = scores.groupby(scores.index.map(mapping)).sum()
        scores = scores[scores.index.notna()]
        scores.index = scores.index.astype("int64")
    table = pd.DataFrame({"customer_id": scores.index, "lead_score": scores.to_numpy(float)})
    return ibis.memtable(table)


def _score_rows(
    trained: ml.TrainedModel, frame: pd.DataFrame, number: int, now: datetime
) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    with threadpool_limits(limits=None if len(frame) >= ml.THREADED_ROWS else 1):
        probability = trained.predict(frame)
        reasons = ml.top_reasons(ml.contributions(trained, frame))
    return [
        {
            "customer_id": str(cid),
            "version": number,
            "probability": float(p),
            "reasons": why,
            "scored_at": now,
        }
        for cid, p, why in zip(frame.index, probability, reasons, strict=True)
    ]


def score(
    tp: Touchpoint,
    name: str,
    *,
    at: datetime | None = None,
    progress: Progress = lambda step: None,
) -> ModelView:
    """Score every customer `name` is meant for as of `at` (default now) with its latest
    version, replacing the model's previous scores."""
    _target(name)
    now = _now(at)
    row = _version_row(tp, name, None)
    trained = ml.load(Path(row["path"]), row["sha256"])
    awards = _lead_awards(tp)
    progress("refreshing the columnar copy")
    with open_sources(tp.settings) as sources:
        progress(f"features as of {now:%Y-%m-%d %H:%M}")
        lead = _lead_scores(sources, awards, now)
        current = feats.dataset(
            sources, target=name, cutoff=now, horizon_days=None, lead_scores=lead
        )
    progress("scoring")
    rows = _score_rows(trained, current, int(row["version"]), now)
    with write_transaction(tp.engine) as conn:
        store.replace_scores(conn, name, rows)
        _rescore_segments(tp, conn)
    return show(tp, name).view


def _rescore_segments(tp: Touchpoint, conn: Connection) -> None:
    """The segments reading predictions follow the scores just written, in the same transaction."""
    try:
        segments = tp.projections.get("segments")
    except NotFound:
        return
    rescore(conn, segments.moment)  # type: ignore[attr-defined]


def _version_row(tp: Touchpoint, name: str, number: int | None) -> Any:
    _target(name)
    with read_connection(tp.engine) as conn:
        row = store.version(conn, name, number)
    if row is None:
        which = f"version {number} of " if number is not None else ""
        raise NotFound(f"no {which}model {name!r}; train it first: touchpoint model train {name}")
    return row


def _view(row: Any, summary: tuple[int, float | None, datetime | None]) -> ModelView:
    evaluations = row["metrics"]["evaluations"]
    baselines = [e["roc_auc"] for e in evaluations[1:] if e["roc_auc"] is not None]
    return ModelView(
        name=row["name"],
        version=int(row["version"]),
        trained_at=row["trained_at"],
        at=row["at"],
        horizon_days=int(row["horizon_days"]),
        cutoffs=[datetime.fromisoformat(c) for c in row["cutoffs"]],
        features=list(row["features"]),
        path=row["path"],
        roc_auc=evaluations[0]["roc_auc"],
        baseline_roc_auc=max(baselines) if baselines else None,
        scored=summary[0],
        mean_probability=summary[1],
        scored_at=summary[2],
    )


def list_models(tp: Touchpoint) -> list[ModelView]:
    """Every version of every model, newest first per model; the scores are the latest run's."""
    with read_connection(tp.engine) as conn:
        rows = store.versions(conn)
        summaries = {name: store.score_summary(conn, name) for name in terms.TARGETS}
    latest: dict[str, int] = {}
    out = []
    for row in rows:
        first = latest.setdefault(row["name"], int(row["version"])) == int(row["version"])
        out.append(_view(row, summaries[row["name"]] if first else (0, None, None)))
    return out


def show(tp: Touchpoint, name: str, number: int | None = None, *, top: int = 10) -> ModelDetail:
    """One version (default the latest) with its evaluations beside the baselines, the feature
    groups' importance and, for the latest, its highest-scored customers."""
    row = _version_row(tp, name, number)
    with read_connection(tp.engine) as conn:
        latest = store.version(conn, name)
        is_latest = latest is not None and latest["version"] == row["version"]
        summary = store.score_summary(conn, name) if is_latest else (0, None, None)
        best = store.top_scores(conn, name, top) if is_latest else []
    metrics, target = row["metrics"], _target(name)
    return ModelDetail(
        view=_view(row, summary),
        scored=target.scored,
        positive=target.positive,
        evaluations=[Evaluation(**e) for e in metrics["evaluations"]],
        importance=dict(metrics["importance"]),
        rows=dict(metrics["rows"]),
        versions=dict(row["versions"]),
        top=[ScoredCustomer(r["customer_id"], r["probability"], r["reasons"]) for r in best],
    )


def predictions_of(tp: Touchpoint, customer_id: str) -> list[Prediction]:
    """The customer's latest prediction of each model (none for a model not meant for them: a
    converted customer has no conversion score)."""
    with read_connection(tp.engine) as conn:
        survivor = current_id(conn, customer_id)
        rows = store.scores_of(conn, survivor)
    return [
        Prediction(r["model"], int(r["version"]), r["probability"], r["reasons"], r["scored_at"])
        for r in rows
    ]
