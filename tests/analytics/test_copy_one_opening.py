"""Every opening of the columnar copy in a process waits for the one before: a report holding it
while the simulation's fit (or model training) opens it with a refresh due must not make that
refresh fail on DuckDB's file lock. The overview's week figures, loaded after the page, ran
beside the next page's simulation and answered it a 503 before open_sources held one lock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.builders import interaction
from touchpoint.analytics.service import run_query
from touchpoint.analytics.sources import open_sources
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings


def test_an_opening_with_a_refresh_due_waits_for_the_one_holding_the_copy(
    tmp_path: Path,
) -> None:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        tp.ingestor.ingest([(0, interaction(id="a", type="signup", email="a@example.com"))])
        held = threading.Event()
        errors: list[BaseException] = []

        def report(sources: object) -> int:
            held.set()
            time.sleep(1.0)  # a slow report, holding the copy open
            return int(sources.interactions.count().execute())  # type: ignore[attr-defined]

        def hold() -> None:
            try:
                assert run_query(tp.settings, report) == 1
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(30)
        # the copy is now behind the log: this opening refreshes it (in the isolated process)
        tp.ingestor.ingest([(0, interaction(id="b", type="signup", email="b@example.com"))])
        with open_sources(tp.settings) as sources:  # as services.simulation opens it
            counted = int(sources.interactions.count().execute())
        holder.join(30)
        assert errors == []
        assert counted == 2  # refreshed once the holder let go, not failed on the lock
    finally:
        tp.close()
