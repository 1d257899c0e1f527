"""services.demo: the demo's work as a typed result, its progress reported as it goes, and a
refused customer count stops before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.demo import run_demo
from touchpoint.services.keys import authenticate
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import api_keys


@pytest.fixture
def tp(tmp_path: Path) -> Iterator[Touchpoint]:
    touchpoint = open_touchpoint(Settings(data_dir=tmp_path))
    yield touchpoint
    touchpoint.close()


@pytest.mark.parametrize("customers", [0, -1])
def test_a_customer_count_below_one_is_refused_before_any_work(
    tp: Touchpoint, customers: int
) -> None:
    with pytest.raises(ValidationError, match=f"customers must be at least 1, not {customers}"):
        run_demo(tp, customers=customers, seed=7)
    with read_connection(tp.engine) as conn:
        assert conn.scalar(select(func.count()).select_from(api_keys)) == 0


def test_the_demo_returns_what_it_did_and_reports_its_steps(tp: Touchpoint) -> None:
    steps: list[str] = []
    ingested: list[int] = []
    result = run_demo(tp, customers=30, seed=3, on_step=steps.append, on_ingested=ingested.append)
    assert steps == ["ingest", "clock", "spend", "summary", "analytics"]
    assert sum(ingested) == result.ingest.total == result.ingest.accepted > 0
    assert result.ingest.rejected == []
    with read_connection(tp.engine) as conn:
        for scope, secret in result.keys.items():
            assert (
                authenticate(conn, secret, needs=scope if scope != "admin" else "read").scope
                == scope
            )
    assert sum(n for _, n in result.overview.by_channel) == result.ingest.accepted
    assert result.spend.stored > 0 and result.spend.rejected == []
    assert result.stages.total == result.overview.customers
    assert result.sample is not None and result.sample.interaction_count > 0
    assert result.funnel.name == "funnel"
    assert result.lifecycle_map.is_file() and '"type":"sankey"' in result.lifecycle_map.read_text()
