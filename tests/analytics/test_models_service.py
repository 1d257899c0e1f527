"""The predictive scores' service on SQLite and PostgreSQL: what a user gets wrong is refused
in one sentence naming it, before or instead of any training."""

from __future__ import annotations

import pytest

from touchpoint.errors import NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import models as service


def test_mistakes_are_named(tp: Touchpoint) -> None:
    with pytest.raises(ValidationError, match="unknown model 'ltv'; use one of conversion, churn"):
        service.train(tp, "ltv")
    with pytest.raises(ValidationError, match=r"--horizon '3 months': write a number of days"):
        service.train(tp, "churn", horizon="3 months")
    with pytest.raises(ValidationError, match="--horizon '0d': between 1 and 730 days"):
        service.train(tp, "churn", horizon="0d")
    with pytest.raises(NotFound, match="no model 'conversion'; train it first"):
        service.score(tp, "conversion")
    with pytest.raises(NotFound, match="no version 3 of model 'churn'"):
        service.show(tp, "churn", 3)
    with pytest.raises(NotFound, match="no customer 'cus_nobody'"):
        service.predictions_of(tp, "cus_nobody")
    assert service.list_models(tp) == []


@pytest.mark.slow  # refreshes the columnar copy in its worker process
def test_an_empty_log_is_too_little_data(tp: Touchpoint) -> None:
    with pytest.raises(ValidationError, match="too little data to train: the training cut-offs"):
        service.train(tp, "conversion")


def test_the_lead_score_feature_is_the_score_as_it_stood_at_the_cut_off() -> None:
    """Awards after the cut-off do not count; earlier ones decay to the cut-off: 10 points
    given one half-life (10 days) before it count 5, plus 4 given at it."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    import ibis
    import pandas as pd

    cut = datetime(2026, 6, 1, tzinfo=UTC)
    awards = pd.DataFrame(
        {
            "customer_id": ["cus_a", "cus_a", "cus_a", "cus_b"],
            "at": [
                cut - timedelta(days=10),
                cut,
                cut + timedelta(seconds=1),
                cut + timedelta(days=1),
            ],
            "points": [10.0, 4.0, 100.0, 7.0],
        }
    )
    sources = SimpleNamespace(customer_keys=None)
    table = service._lead_scores(sources, (awards, 10 * 86_400.0), cut)
    got = ibis.duckdb.connect().to_pyarrow(table).to_pylist()
    assert got == [{"customer_id": "cus_a", "lead_score": pytest.approx(9.0)}]
    assert service._lead_scores(sources, (awards, None), cut - timedelta(days=11)) is None
