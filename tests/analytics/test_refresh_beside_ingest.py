"""Analytics beside live ingest on the embedded SQLite: refreshing the columnar copy while
batches are committed in the same process must not break either (DuckDB's scanner has its own
SQLite library; sharing a process with ours made commits fail with "locking protocol")."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.builders import interaction
from touchpoint.analytics.service import make_request, report_spec, run_report
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store import log

START = datetime(2026, 3, 1, tzinfo=UTC)
BATCHES, PER_BATCH = 30, 200


def batch(number: int) -> list[tuple[int, dict]]:
    return [
        (
            i,
            interaction(
                id=f"b{number}-{i}",
                type="purchase" if i % 7 == 0 else "page_view",
                at=START + timedelta(minutes=number * PER_BATCH + i),
                email=f"p{(number * PER_BATCH + i) % 900}@example.com",
                revenue=5.0 if i % 7 == 0 else None,
            ),
        )
        for i in range(PER_BATCH)
    ]


def test_reports_refresh_while_batches_commit(tmp_path: Path) -> None:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    errors: list[BaseException] = []
    try:
        tp.ingestor.ingest(batch(0))

        def ingest() -> None:
            try:
                for number in range(1, BATCHES):
                    report = tp.ingestor.ingest(batch(number))
                    assert report.accepted == PER_BATCH, report.rejected
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        def read() -> None:
            try:
                for _ in range(8):
                    for name in ("funnel", "kpis"):
                        spec = report_spec(name)
                        run_report(tp.settings, name, make_request(spec, at=START + timedelta(30)))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=ingest), threading.Thread(target=read)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        with tp.engine.connect() as conn:
            assert log.count(conn) == BATCHES * PER_BATCH
        funnel = run_report(tp.settings, "funnel", make_request(report_spec("funnel")))
        assert funnel.table.column("customers")[0].as_py() == 900  # the copy caught up
    finally:
        tp.close()
