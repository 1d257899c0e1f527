"""How well a predictive score ranks and how honest its probabilities are, on held-out rows:
ROC AUC, PR AUC (average precision), Brier score, a calibration table and lift by decile.

Plain functions from labels and probabilities to numbers and rows, so the model and each
baseline are measured alike (and a test can check them on a set whose answer is known)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

BINS = 10


@dataclass(frozen=True)
class Evaluation:
    """One scorer on one test set. `calibration`: per bin of predicted probability (deciles of
    the scores), rows, mean predicted and observed rate; `lift`: per decile of the ranking (1 =
    the highest scores), rows, positives, rate, lift (rate / base rate) and the cumulative share
    of all positives captured down to that decile."""

    name: str
    rows: int
    positives: int
    base_rate: float
    roc_auc: float | None
    pr_auc: float | None
    brier: float
    calibration: list[dict[str, float]] = field(default_factory=list)
    lift: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(name: str, y: np.ndarray, p: np.ndarray) -> Evaluation:
    """Every metric of `p` (probabilities) against `y` (0/1). AUCs are None when the test set
    holds one class only (they are undefined)."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    two_classes = 0 < y.sum() < len(y)
    return Evaluation(
        name=name,
        rows=len(y),
        positives=int(y.sum()),
        base_rate=float(y.mean()) if len(y) else 0.0,
        roc_auc=float(roc_auc_score(y, p)) if two_classes else None,
        pr_auc=float(average_precision_score(y, p)) if two_classes else None,
        brier=float(brier_score_loss(y, p)),
        calibration=calibration_table(y, p),
        lift=lift_by_decile(y, p),
    )


def _deciles(n: int, bins: int = BINS) -> np.ndarray:
    """The decile (0 = first) of each of n ranked rows: as equal as n allows, larger first."""
    return (np.arange(n) * bins) // max(n, 1)


def lift_by_decile(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Rows ranked by score, highest first (ties in the order given, a stable sort), cut into
    deciles."""
    order = np.argsort(-p, kind="stable")
    ranked = y[order]
    decile = _deciles(len(ranked), bins)
    total = int(ranked.sum())
    base = float(ranked.mean()) if len(ranked) else 0.0
    rows, captured = [], 0
    for d in range(bins):
        part = ranked[decile == d]
        if not len(part):
            continue
        captured += int(part.sum())
        rate = float(part.mean())
        rows.append(
            {
                "decile": d + 1,
                "rows": len(part),
                "positives": int(part.sum()),
                "rate": rate,
                "lift": rate / base if base else 0.0,
                "captured": captured / total if total else 0.0,
            }
        )
    return rows


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Rows ranked by score, lowest first, cut into deciles: the mean predicted probability
    beside the observed rate in each (a calibrated model has the two alike)."""
    order = np.argsort(p, kind="stable")
    decile = _deciles(len(order), bins)
    rows = []
    for d in range(bins):
        idx = order[decile == d]
        if not len(idx):
            continue
        rows.append(
            {
                "bin": d + 1,
                "rows": len(idx),
                "predicted": float(p[idx].mean()),
                "observed": float(y[idx].mean()),
            }
        )
    return rows
