"""Predictive scores' metrics on sets whose answer is known, the model beside its baselines, the
model file's round trip and its refusals, and too little data said in one sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from touchpoint.analytics import models as ml
from touchpoint.analytics.model_metrics import calibration_table, evaluate, lift_by_decile
from touchpoint.domain import predictions as terms
from touchpoint.errors import ValidationError

AT = datetime(2026, 6, 1, tzinfo=UTC)


def test_a_perfectly_separating_score_has_auc_one() -> None:
    y = np.array([0, 0, 0, 1, 1])
    result = evaluate("s", y, np.array([0.1, 0.2, 0.3, 0.8, 0.9]))
    assert (result.roc_auc, result.pr_auc) == (1.0, 1.0)
    assert result.positives == 2 and result.base_rate == pytest.approx(0.4)


def test_a_random_score_has_auc_about_one_half() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20_000)
    result = evaluate("random", y, rng.random(20_000))
    assert abs(result.roc_auc - 0.5) < 0.02
    assert abs(result.pr_auc - y.mean()) < 0.02  # a random ranking's precision: the base rate


def test_brier_score_by_hand() -> None:
    # ((0.2 - 0)^2 + (0.6 - 1)^2) / 2 = (0.04 + 0.16) / 2 = 0.1
    assert evaluate("s", np.array([0, 1]), np.array([0.2, 0.6])).brier == pytest.approx(0.1)


def test_lift_by_decile_by_hand() -> None:
    # 20 rows, 4 positives (base rate 0.2); the two highest scores are positives, then one in
    # the 3rd decile and one in the last: decile 1 holds rows 1-2 (2 yes): rate 1.0, lift 5.
    y = np.zeros(20, dtype=int)
    y[[0, 1, 5, 19]] = 1
    p = np.linspace(1.0, 0.05, 20)
    rows = lift_by_decile(y, p)
    assert [r["positives"] for r in rows] == [2, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert rows[0]["lift"] == pytest.approx(5.0) and rows[2]["lift"] == pytest.approx(2.5)
    assert [r["captured"] for r in rows][:3] == [0.5, 0.5, 0.75]
    assert rows[-1]["captured"] == 1.0


def test_calibration_table_by_hand() -> None:
    y = np.array([0, 0, 1, 1] * 5)
    p = np.array([0.1, 0.1, 0.9, 0.9] * 5)
    rows = calibration_table(y, p, bins=2)
    assert rows == [
        {"bin": 1, "rows": 10, "predicted": pytest.approx(0.1), "observed": 0.0},
        {"bin": 2, "rows": 10, "predicted": pytest.approx(0.9), "observed": 1.0},
    ]


def _frame(n: int, seed: int, *, signal: str = "support_contacts_90d") -> pd.DataFrame:
    """Random features 0-7; the label is 1 exactly when `signal` is above 5 (a rule the model
    can learn and recency alone cannot see)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {name: rng.integers(0, 8, n).astype(float) for name in terms.FEATURES},
        index=[f"cus_{seed}_{i}" for i in range(n)],
    )
    frame["lead_score"] = np.nan  # no lead-score projection: the column is left out
    frame["label"] = (frame[signal] > 5).astype(int)
    return frame


def test_the_model_learns_what_the_baselines_cannot_see() -> None:
    trained = ml.train(
        terms.CHURN, _frame(600, 1), _frame(300, 2), at=AT, horizon_days=90, cutoffs=[AT, AT]
    )
    names = [e.name for e in trained.evaluations]
    assert names == [ml.MODEL, ml.RECENCY, ml.RFM]
    model, recency, rfm = trained.evaluations
    assert model.roc_auc == pytest.approx(1.0)
    assert abs(recency.roc_auc - 0.5) < 0.1 and abs(rfm.roc_auc - 0.5) < 0.1
    assert "lead_score" not in trained.features
    top = max(trained.importance, key=trained.importance.__getitem__)
    assert top == "support"  # the group holding support_contacts_90d
    # Customers with 7 support contacts: the model's first reason is the support group, which
    # alone moves them from a typical (median, negative) customer's probability to about 1.
    busy = _frame(5, 3).assign(support_contacts_90d=7.0)
    reasons = ml.top_reasons(ml.contributions(trained, busy))
    assert [r[0]["group"] for r in reasons] == ["support"] * 5
    assert all(r[0]["effect"] > 0.5 for r in reasons)


def test_the_model_file_round_trips_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    test = _frame(300, 2)
    trained = ml.train(terms.CHURN, _frame(600, 1), test, at=AT, horizon_days=90, cutoffs=[AT])
    path = tmp_path / "models" / "churn-v1.joblib"
    digest = ml.save(trained, path)
    loaded = ml.load(path, digest)
    np.testing.assert_array_equal(loaded.predict(test), trained.predict(test))
    assert loaded.features == trained.features and loaded.versions["scikit-learn"]
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValidationError, match="changed since it was saved"):
        ml.load(path, digest)
    with pytest.raises(ValidationError, match="is missing"):
        ml.load(tmp_path / "nothing.joblib", digest)


def test_too_little_data_is_one_sentence_naming_what_is_missing() -> None:
    small = _frame(30, 1)
    with pytest.raises(ValidationError, match=r"the training cut-offs has 30 eligible customers"):
        ml.train(terms.CHURN, small, _frame(300, 2), at=AT, horizon_days=90, cutoffs=[AT])
    one_class = _frame(300, 2).assign(label=0)
    with pytest.raises(ValidationError, match=r"the test cut-off has 300 eligible customers, 0"):
        ml.train(terms.CHURN, _frame(600, 1), one_class, at=AT, horizon_days=90, cutoffs=[AT])


def test_horizons_and_targets_are_checked() -> None:
    assert terms.parse_horizon("90d") == terms.parse_horizon("90") == 90
    assert terms.parse_horizon("13w") == 91
    for bad in ("90 days", "0d", "1000d", ""):
        with pytest.raises(terms.PredictionError, match="--horizon"):
            terms.parse_horizon(bad)
    with pytest.raises(terms.PredictionError, match="unknown model 'ltv'"):
        terms.check_target("ltv")


def test_cut_offs_test_one_horizon_before_now_and_train_before_it() -> None:
    cuts = terms.cutoffs(datetime(2026, 12, 1, tzinfo=UTC), 30)
    assert [c.date().isoformat() for c in cuts] == [
        "2026-08-03",
        "2026-09-02",
        "2026-10-02",
        "2026-11-01",
    ]
