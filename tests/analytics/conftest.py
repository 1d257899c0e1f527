"""Analytics fixtures: the same reports on three engines — DuckDB over the columnar copy, and the
system of record itself on SQLite and on PostgreSQL — plus a hand-built history helper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from tests.postgres_server import create_database
from touchpoint.analytics.reports import ReportResult
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import identities, stage_transitions

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# The lifecycle reports (CLV, CAC, attribution and the contact-center ones have their own tests).
LIFECYCLE_REPORTS = [
    "funnel",
    "transitions",
    "time-in-stage",
    "cohorts",
    "composition",
    "churn",
    "at-risk",
    "kpis",
]


def day(month: int, dom: int, hour: int = 12) -> datetime:
    """A moment in 2026 (noon UTC unless told), so day counts come out whole."""
    return datetime(2026, month, dom, hour, tzinfo=UTC)


@dataclass
class Lab:
    """A Touchpoint plus the engine reports run on for this test."""

    tp: Touchpoint
    engine: str

    def ingest(self, items: list[dict[str, Any]]) -> None:
        report = self.tp.ingestor.ingest(enumerate(items))
        assert not report.rejected, report.rejected

    def customer(self, external_id: str) -> str:
        with self.tp.engine.connect() as conn:
            found = conn.execute(
                select(identities.c.customer_id).where(
                    identities.c.key == f"external_id:{external_id}"
                )
            ).scalar()
        assert found, external_id
        return str(found)

    def set_transitions(self, moves: list[tuple[str, str | None, str, datetime]]) -> None:
        """Replace what the lifecycle engine projected with a hand-written history:
        (external id, from stage, to stage, at)."""
        rows = [
            {
                "customer_id": self.customer(who),
                "from_stage": before,
                "to_stage": after,
                "at": at,
                "interaction_id": None,
                "reason": "hand-built",
            }
            for who, before, after, at in moves
        ]
        with write_transaction(self.tp.engine) as conn:
            conn.execute(delete(stage_transitions))
            if rows:
                conn.execute(insert(stage_transitions), rows)

    def run(self, name: str, **request: Any) -> ReportResult:
        spec = report_spec(name)
        req = make_request(spec, at=request.pop("at", NOW), **request)
        with open_sources(self.tp.settings, self.engine) as sources:
            return spec.run(sources, req)

    def rows(self, name: str, **request: Any) -> list[dict[str, Any]]:
        return self.run(name, **request).table.to_pylist()


@pytest.fixture(params=["duckdb", "sqlite", "postgres"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    """Each analytics test runs on DuckDB (copy of a SQLite system of record), SQLite and
    PostgreSQL, and must get the same numbers on all three."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_url")
        settings = Settings(data_dir=tmp_path, database_url=create_database(server))
    else:
        settings = Settings(data_dir=tmp_path)
    tp = open_touchpoint(settings)
    yield Lab(tp, request.param)
    tp.close()
