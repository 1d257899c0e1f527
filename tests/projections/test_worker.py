"""`touchpoint worker`: the scheduler in a process of its own. It learns of an ingest made by
another process from the log's end (no in-process callback reaches it), so an interaction
stored elsewhere wakes it within a poll, and a playbook it triggers runs there."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import interaction
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import scheduler
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection

PLAYBOOK = """name = "follow_cart"
[trigger]
interaction = "cart_abandoned"
[[steps]]
set_trait = { name = "cart_followed", value = "yes" }
"""


def test_the_worker_wakes_when_another_process_stores_something(
    tp: Touchpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    wakes: list[float] = []

    def counted(_tp: Touchpoint, _now: datetime, next_tick: datetime) -> tuple[datetime, float]:
        wakes.append(time.monotonic())
        return next_tick, 30.0  # nothing due for 30 s

    monkeypatch.setattr(scheduler, "wake", counted)
    monkeypatch.setattr(scheduler, "run_once", lambda _tp: scheduler.SchedulerRun(None))  # type: ignore[arg-type]
    stop = threading.Event()
    loop = threading.Thread(target=scheduler.work, args=(tp,), kwargs={"stop": stop})
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while not wakes and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        assert len(wakes) == 1  # asleep, as told: five polls saw the same log end
        other = open_touchpoint(tp.settings)  # another process's engine and ingestor
        try:
            stored_at = time.monotonic()
            other.ingestor.ingest([(0, interaction(type="signup", email="far@example.com"))])
        finally:
            other.close()
        while len(wakes) < 2 and time.monotonic() - stored_at < 5:
            time.sleep(0.01)
        assert len(wakes) == 2 and wakes[1] - stored_at < 1.0
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()  # the stop event ends it


def followed_trait(settings: Settings, email: str) -> object:
    probe = open_touchpoint(settings)
    try:
        with read_connection(probe.engine) as conn:
            _, found = find_customers(conn, lookup_keys(email=email))
        return (found[0].traits or {}).get("cart_followed") if found else None
    finally:
        probe.close()


def test_touchpoint_worker_runs_a_playbook_for_an_ingest_made_elsewhere(
    sqlite_settings: Settings,
) -> None:
    data = sqlite_settings.data_dir
    (data / "playbooks").mkdir(parents=True)
    (data / "playbooks" / "follow_cart.toml").write_text(PLAYBOOK)
    open_touchpoint(sqlite_settings).close()  # the schema, before two processes share it
    env = {**os.environ, "TOUCHPOINT_DATA_DIR": str(data), "TOUCHPOINT_AUTOMATION_SECRET": "t"}
    env.pop("TOUCHPOINT_DATABASE_URL", None)
    touchpoint = Path(sys.executable).parent / "touchpoint"
    worker = subprocess.Popen(
        [str(touchpoint), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.0)
        assert worker.poll() is None, worker.communicate()
        tp = open_touchpoint(sqlite_settings)
        try:
            cart = interaction(type="cart_abandoned", email="ann@example.com", at=datetime.now(UTC))
            tp.ingestor.ingest([(0, cart)])
        finally:
            tp.close()
        deadline = time.monotonic() + 20
        while (
            followed_trait(sqlite_settings, "ann@example.com") is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert followed_trait(sqlite_settings, "ann@example.com") == "yes"
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=20)
    assert b"Touchpoint worker on" in out
    assert b"Traceback" not in err, err.decode()[-2000:]
