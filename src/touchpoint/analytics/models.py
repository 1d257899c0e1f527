"""Predictive scores: fit a gradient-boosted model (scikit-learn's HistGradientBoostingClassifier)
on the features of earlier cut-offs, measure it on a later one beside two baselines fitted on
the same rows (recency alone; a logistic regression on recency, frequency and monetary value),
explain each prediction by feature group, and keep it all in one versioned model file.

Pure computation on frames (`analytics.features` builds them); the service decides when to read
the log and where rows are stored.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from touchpoint import __version__
from touchpoint.analytics.model_metrics import Evaluation, evaluate
from touchpoint.domain import predictions as terms
from touchpoint.errors import ValidationError

MODEL = "model"  # the evaluation of the gradient-boosted model; the baselines' names:
RECENCY = "baseline: recency alone"
RFM = "baseline: logistic regression on RFM"
TOP_REASONS = 3
PERMUTATION_REPEATS = 3
FILE_FORMAT = 1
# Below this many rows OpenMP threads buy nothing and, on a busy machine, cost tenfold (each of
# the boosting's iterations waits for every thread): one thread.
THREADED_ROWS = 50_000
Progress = Callable[[str], None]


def gradient_boosting() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=0.1,  # as good as 0.05 on the demo's validation cut-off, half the trees to score
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=0,
    )


def logistic() -> Any:
    """Missing values by the median, log1p of the (non-negative) counts, standardised."""
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        FunctionTransformer(np.log1p),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )


@dataclass
class TrainedModel:
    """What the model file holds: the fitted model, how it was made and how it did."""

    target: str
    horizon_days: int
    at: datetime  # "now" of the training: the test cut-off is at − horizon
    cutoffs: list[datetime]  # training cut-offs, then the test cut-off
    features: list[str]
    estimator: Any
    reference: np.ndarray  # per feature, the training median: what "typical" means in reasons
    evaluations: list[Evaluation]
    importance: dict[str, float]  # per feature group: mean drop in test ROC AUC when shuffled
    rows: dict[str, int]
    versions: dict[str, str] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(_matrix(frame, self.features))[:, 1])

    def metrics(self) -> dict[str, Any]:
        return {
            "evaluations": [e.as_dict() for e in self.evaluations],
            "importance": self.importance,
            "rows": self.rows,
            "cutoffs": [c.isoformat() for c in self.cutoffs],
        }


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    return frame[features].to_numpy(dtype=float)


def check_enough(frame: pd.DataFrame, what: str) -> None:
    rows, positives = len(frame), int(frame["label"].sum())
    if rows < terms.MIN_ROWS or min(positives, rows - positives) < terms.MIN_POSITIVES:
        raise ValidationError(
            f"too little data to train: {what} has {rows} eligible customers, {positives} "
            f"positive; need {terms.MIN_ROWS} and {terms.MIN_POSITIVES} of each class (try an "
            "earlier --at or a shorter --horizon)"
        )


def train(
    target: str,
    training: pd.DataFrame,
    test: pd.DataFrame,
    *,
    at: datetime,
    horizon_days: int,
    cutoffs: list[datetime],
    progress: Progress = lambda step: None,
) -> TrainedModel:
    """Fit the model and both baselines on `training`, measure all three on `test`."""
    with threadpool_limits(limits=None if len(training) >= THREADED_ROWS else 1):
        return _fit_and_measure(target, training, test, at, horizon_days, cutoffs, progress)


def _fit_and_measure(
    target: str,
    training: pd.DataFrame,
    test: pd.DataFrame,
    at: datetime,
    horizon_days: int,
    cutoffs: list[datetime],
    progress: Progress,
) -> TrainedModel:
    terms.check_target(target)
    check_enough(training, "the training cut-offs")
    check_enough(test, "the test cut-off")
    # A column with no value in training (the lead score before its projection exists) is left
    # out: it could teach nothing, and the model file lists the features it does use.
    features = [name for name in terms.FEATURES if training[name].notna().any()]
    x, y = _matrix(training, features), training["label"].to_numpy(dtype=int)
    xt, yt = _matrix(test, features), test["label"].to_numpy(dtype=int)
    progress("fitting the gradient-boosted model")
    model = gradient_boosting().fit(x, y)
    progress("fitting the baselines")
    evaluations = [evaluate(MODEL, yt, model.predict_proba(xt)[:, 1])]
    for name, columns in ((RECENCY, [terms.RECENCY_FEATURE]), (RFM, list(terms.RFM_FEATURES))):
        baseline = logistic().fit(training[columns].to_numpy(dtype=float), y)
        scores = baseline.predict_proba(test[columns].to_numpy(dtype=float))[:, 1]
        evaluations.append(evaluate(name, yt, scores))
    progress("measuring feature groups (permutation)")
    importance = group_importance(model, xt, yt, features)
    return TrainedModel(
        target=target,
        horizon_days=horizon_days,
        at=at,
        cutoffs=cutoffs,
        features=features,
        estimator=model,
        reference=medians(x),
        evaluations=evaluations,
        importance=importance,
        rows={
            "training": len(training),
            "training_positives": int(y.sum()),
            "test": len(test),
            "test_positives": int(yt.sum()),
        },
        versions=library_versions(),
    )


def medians(x: np.ndarray) -> np.ndarray:
    """Each column's median over its known values (NaN for a column with none)."""
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        known = x[~np.isnan(x[:, j]), j]
        if len(known):
            out[j] = np.median(known)
    return out


def library_versions() -> dict[str, str]:
    return {
        "touchpoint": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _columns_of(features: list[str]) -> dict[str, list[int]]:
    index = {name: i for i, name in enumerate(features)}
    return {
        group: [index[n] for n in names if n in index]
        for group, names in terms.FEATURE_GROUPS.items()
    }


def group_importance(
    model: Any, x: np.ndarray, y: np.ndarray, features: list[str], *, seed: int = 0
) -> dict[str, float]:
    """Permutation importance per feature group: the mean drop in ROC AUC when the group's
    columns are shuffled together across rows (so correlated columns of one group do not hide
    each other). 0 for a group that cannot change the ranking."""
    if not 0 < y.sum() < len(y):
        return dict.fromkeys(terms.FEATURE_GROUPS, 0.0)
    rng = np.random.default_rng(seed)
    base = roc_auc_score(y, model.predict_proba(x)[:, 1])
    out = {}
    for group, cols in _columns_of(features).items():
        drops = []
        for _ in range(PERMUTATION_REPEATS):
            shuffled = x.copy()
            shuffled[:, cols] = x[rng.permutation(len(x))][:, cols]
            drops.append(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1]))
        out[group] = float(np.mean(drops))
    return out


def contributions(trained: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per customer and feature group: how much the group moves this customer's probability
    away from a typical customer's — p(x) − p(x with the group's features at the training
    medians). The model's own answer to "what if this were ordinary", not a hand-made rule."""
    x = _matrix(frame, trained.features)
    p = trained.estimator.predict_proba(x)[:, 1]
    out = {}
    for group, cols in _columns_of(trained.features).items():
        if not cols:
            continue
        typical = x.copy()
        typical[:, cols] = trained.reference[cols]
        out[group] = p - trained.estimator.predict_proba(typical)[:, 1]
    return pd.DataFrame(out, index=frame.index)


def top_reasons(contrib: pd.DataFrame, k: int = TOP_REASONS) -> list[list[dict[str, Any]]]:
    """Each row's k groups that move its probability most (either way), largest first."""
    values = contrib.to_numpy()
    groups = list(contrib.columns)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    return [
        [
            {"group": groups[j], "effect": round(float(values[i, j]), 4)}
            for j in order[i]
            if abs(values[i, j]) >= 5e-4
        ]
        for i in range(len(values))
    ]


# --- the model file ----------------------------------------------------------------------------


def save(trained: TrainedModel, path: Path) -> str:
    """Write the model file (joblib); returns its SHA-256, kept beside it in model_versions and
    checked before the file is ever loaded again (a pickle runs code when loaded)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    joblib.dump({"format": FILE_FORMAT, "model": trained}, path)
    path.chmod(0o600)
    return file_digest(path)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(path: Path, digest: str) -> TrainedModel:
    """The model in `path`, if it is the file that was saved (same SHA-256)."""
    if not path.is_file():
        raise ValidationError(f"the model file {path} is missing; train the model again")
    if file_digest(path) != digest:
        raise ValidationError(f"the model file {path} changed since it was saved; not loading it")
    content = joblib.load(path)
    if not isinstance(content, dict) or content.get("format") != FILE_FORMAT:
        raise ValidationError(f"the model file {path} is not one this version reads")
    model = content["model"]
    assert isinstance(model, TrainedModel)
    return model
