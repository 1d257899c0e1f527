"""Predictive scores over HTTP, on SQLite and PostgreSQL: the models with their metrics, one
customer's predictions (a merged-away id answers with its survivor's), and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.store import models as store
from touchpoint.store.engine import write_transaction

AT = datetime(2026, 6, 1, tzinfo=UTC)


def _evaluation(name: str, auc: float) -> dict[str, object]:
    return {
        "name": name,
        "rows": 100,
        "positives": 10,
        "base_rate": 0.1,
        "roc_auc": auc,
        "pr_auc": 0.5,
        "brier": 0.08,
        "calibration": [{"bin": 1, "rows": 100, "predicted": 0.1, "observed": 0.1}],
        "lift": [
            {"decile": 1, "rows": 10, "positives": 5, "rate": 0.5, "lift": 5.0, "captured": 0.5}
        ],
    }


def _add_model(tp: Touchpoint, customer_id: str) -> None:
    metrics = {
        "evaluations": [
            _evaluation("model", 0.8),
            _evaluation("baseline: recency alone", 0.6),
            _evaluation("baseline: logistic regression on RFM", 0.7),
        ],
        "importance": {"recency": 0.05, "support": 0.02},
        "rows": {"training": 300, "training_positives": 30, "test": 100, "test_positives": 10},
        "cutoffs": [],
    }
    with write_transaction(tp.engine) as conn:
        store.add_version(
            conn,
            name="churn",
            version=1,
            trained_at=AT,
            at=AT,
            horizon_days=90,
            cutoffs=["2026-03-03T00:00:00+00:00"],
            features=["days_since_active"],
            metrics=metrics,
            versions={"scikit-learn": "1"},
            path="/nowhere/churn-v1.joblib",
            sha256="0" * 64,
        )
        reasons = [{"group": "support", "effect": 0.21}, {"group": "recency", "effect": -0.05}]
        store.replace_scores(
            conn,
            "churn",
            [
                {
                    "customer_id": customer_id,
                    "version": 1,
                    "probability": 0.42,
                    "reasons": reasons,
                    "scored_at": AT,
                }
            ],
        )


def test_models_and_a_customer_s_predictions(
    tp: Touchpoint, client: TestClient, manager_key: str
) -> None:
    key = bearer(manager_key)
    made = client.post("/v1/interactions", json=interaction(email="ann@example.com"), headers=key)
    customer_id = made.json()["customer_id"]
    assert client.get("/v1/models", headers=key).json() == []
    assert client.get(f"/v1/customers/{customer_id}/predictions", headers=key).json() == {
        "customer_id": customer_id,
        "predictions": [],
    }
    _add_model(tp, customer_id)
    (listed,) = client.get("/v1/models", headers=key).json()
    assert (listed["name"], listed["version"], listed["roc_auc"]) == ("churn", 1, 0.8)
    assert (listed["baseline_roc_auc"], listed["scored"]) == (0.7, 1)
    detail = client.get("/v1/models/churn", headers=key).json()
    assert [e["name"] for e in detail["evaluations"]] == [
        "model",
        "baseline: recency alone",
        "baseline: logistic regression on RFM",
    ]
    assert detail["top"][0]["customer_id"] == customer_id
    assert "not churned at the cut-off" in detail["scored"]
    (prediction,) = client.get(f"/v1/customers/{customer_id}/predictions", headers=key).json()[
        "predictions"
    ]
    assert (prediction["model"], prediction["version"], prediction["probability"]) == (
        "churn",
        1,
        0.42,
    )
    assert prediction["reasons"][0] == {"group": "support", "effect": 0.21}


def test_bad_model_requests_get_a_clear_4xx(
    tp: Touchpoint, client: TestClient, read_key: str
) -> None:
    key = bearer(read_key)
    assert client.get("/v1/models/ltv", headers=key).status_code == 422
    missing = client.get("/v1/models/churn", headers=key)
    assert missing.status_code == 404 and "train it first" in missing.json()["detail"]
    assert client.get("/v1/models/churn?version=0", headers=key).status_code == 422
    nobody = client.get("/v1/customers/cus_nobody/predictions", headers=key)
    assert nobody.status_code == 404 and "no customer" in nobody.json()["detail"]
