"""A file import killed mid-way (SIGKILL, no clean-up) loses only its open batch: the database is
intact, the log holds whole batches, the deferred projections show the lag and catch up to exactly
what a replay gives, and importing the file again stores the rest exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select

from touchpoint.ingest.files import FILE_BATCH_SIZE
from touchpoint.lifecycle.model import load_model
from touchpoint.runtime import open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import stage_transitions

ROWS = FILE_BATCH_SIZE * 3 + 1_234
START = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = ("page_view", "signup", "cart_added", "purchase", "call")


def write_events(path: Path) -> None:
    with path.open("wb") as out:
        for i in range(ROWS):
            kind = TYPES[i % len(TYPES)]
            event = {
                "id": f"e{i}",
                "type": kind,
                "channel": "phone" if kind == "call" else "web",
                "occurred_at": (START + timedelta(minutes=i)).isoformat(),
                "customer": {"email": f"p{i % 7_000}@example.com"},
            }
            if kind == "purchase":
                event["revenue"] = 10.0
            out.write(orjson.dumps(event) + b"\n")


def stored(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM interactions").fetchone()[0])


def transitions(settings: Settings) -> list[tuple[object, ...]]:
    tp = open_touchpoint(settings)
    try:
        t = stage_transitions.c
        query = select(t.customer_id, t.from_stage, t.to_stage, t.at, t.interaction_id).order_by(
            t.customer_id, t.at, t.to_stage
        )
        with read_connection(tp.engine) as conn:
            return [tuple(row) for row in conn.execute(query)]
    finally:
        tp.close()


def test_an_import_killed_mid_way_loses_only_its_open_batch(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events)
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    open_touchpoint(settings).close()  # the schema exists before the importer starts
    db = data / "touchpoint.db"
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", "import"]
    importer = subprocess.Popen(
        [*command, str(events), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
    )
    deadline = time.monotonic() + 240
    while stored(db) < FILE_BATCH_SIZE:  # the first batch committed, the second under way
        assert importer.poll() is None, "the import ended before it could be interrupted"
        assert time.monotonic() < deadline, "no batch committed in time"
        time.sleep(0.05)
    importer.send_signal(signal.SIGKILL)
    importer.wait(timeout=30)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = stored(db)
    assert 0 < kept < ROWS and kept % FILE_BATCH_SIZE == 0  # whole batches only

    tp = open_touchpoint(settings)
    try:
        status = tp.projections.status()[0]  # the lifecycle; consent follows
        assert status.checkpoint == 0 and status.lag == kept  # the import deferred the stages
        caught_up = tp.projections.catch_up()[0]
        assert caught_up.events == kept and tp.projections.status()[0].lag == 0
    finally:
        tp.close()
    projected = transitions(settings)
    assert projected  # the catch-up placed every customer
    tp = open_touchpoint(settings)
    try:
        report = tp.projections.replay("lifecycle", model=load_model())
    finally:
        tp.close()
    assert report.customers_moved == 0
    assert transitions(settings) == projected  # the catch-up gave exactly the log's projection

    tp = open_touchpoint(settings)
    try:
        again = import_file(tp, events)
    finally:
        tp.close()
    assert again.duplicates == kept and again.accepted == ROWS - kept and not again.rejected
    assert stored(db) == ROWS
