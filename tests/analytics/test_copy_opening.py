"""An opening of the columnar copy is one read-only connection with what does not change per
request kept (the system of record's engine, the parsed stage model, the tables' schemas): it
still follows every change — new interactions, a replay with another model — lets another
process read the copy beside it, and an opening inside another reads what the outer one does
rather than fail on the lock the outer one holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.builders import interaction
from touchpoint.analytics import columnar
from touchpoint.analytics.sources import open_sources
from touchpoint.lifecycle.model import load_model
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings


def _count(sources: object) -> int:
    return int(sources.interactions.count().execute())  # type: ignore[attr-defined]


def test_each_opening_sees_what_was_ingested_and_the_model_replayed_since(
    tmp_path: Path,
) -> None:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        tp.ingestor.ingest([(0, interaction(id="a", type="lead_form", email="a@example.com"))])
        with open_sources(tp.settings) as sources:
            assert _count(sources) == 1
            assert sources.model.name == "default"
        tp.ingestor.ingest([(0, interaction(id="b", type="signup", email="b@example.com"))])
        tp.projections.replay("lifecycle", model=load_model("hubspot"))
        with open_sources(tp.settings) as sources:
            assert _count(sources) == 2
            assert sources.model.name == "hubspot"
            stages = sources.transitions.to_stage.to_pyarrow().to_pylist()
            assert sorted(stages) == ["lead", "lead"]  # the replay's transitions, copied
    finally:
        tp.close()


def test_another_process_reads_the_copy_while_this_one_holds_it(tmp_path: Path) -> None:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        tp.ingestor.ingest([(0, interaction(id="a", type="signup", email="a@example.com"))])
        reader = (
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(con.execute('SELECT count(*) FROM interactions').fetchone()[0])"
        )
        with open_sources(tp.settings) as sources:
            assert _count(sources) == 1
            other = subprocess.run(
                [sys.executable, "-c", reader, str(columnar.copy_path(tp.settings))],
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert other.returncode == 0, other.stderr  # a read-write opening here locks it out
        assert other.stdout.strip() == "1"
    finally:
        tp.close()


def test_an_opening_inside_another_reads_the_outer_copy_and_the_next_one_refreshes(
    tmp_path: Path,
) -> None:
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        tp.ingestor.ingest([(0, interaction(id="a", type="signup", email="a@example.com"))])
        with open_sources(tp.settings) as outer:
            tp.ingestor.ingest([(0, interaction(id="b", type="signup", email="b@example.com"))])
            # a refresh now would fail on the outer opening's lock (a 503 before)
            with open_sources(tp.settings) as inner:
                assert _count(inner) == 1
            assert _count(outer) == 1
        with open_sources(tp.settings) as after:
            assert _count(after) == 2
    finally:
        tp.close()
