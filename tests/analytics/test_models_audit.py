"""Training a predictive model is in the audit trail (issue 9 §3): who trained which version,
as of when — on a small demo business trained end to end through the service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import audit
from touchpoint.services import models as service
from touchpoint.services.demo import run_demo
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Touchpoint]:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    run_demo(tp, customers=400, seed=5, now=NOW)
    yield tp
    tp.close()


@pytest.mark.slow
def test_a_training_is_recorded_with_who_and_which_version(demo: Touchpoint) -> None:
    detail = service.train(demo, "churn", at=NOW, horizon="90d", actor="cli:ana")
    again = service.train(demo, "churn", at=NOW, horizon="90d", actor="cli:bo")
    with read_connection(demo.engine) as conn:
        total, entries = audit.entries(conn, action="model.train")
    assert total == 2
    got = sorted((e.actor, e.subject, e.detail["horizon_days"]) for e in entries)
    assert got == [("cli:ana", "churn-v1", 90), ("cli:bo", "churn-v2", 90)]
    assert detail.view.version == 1 and again.view.version == 2
    assert entries[0].detail["at"] == NOW.isoformat()
