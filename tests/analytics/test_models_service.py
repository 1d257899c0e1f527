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
