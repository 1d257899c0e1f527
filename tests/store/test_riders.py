"""A small write (a read's audit entry) rides on the write transaction in progress: it is committed
by that transaction, not after a turn of its own behind every writer queued before it; a rider
that fails is undone alone; a carrier that fails leaves its riders for the next writer. And a
server's checkpoints run on a thread of their own, not inside a writer's COMMIT."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from touchpoint.settings import Settings
from touchpoint.store import engine as store_engine
from touchpoint.store.engine import (
    CHECKPOINT_SAFETY_PAGES,
    checkpointing,
    make_engine,
    ride,
    write_transaction,
)


@pytest.fixture()
def engine(tmp_path: Path) -> sa.Engine:
    made = make_engine(Settings(data_dir=tmp_path))
    with made.begin() as conn:
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, who TEXT UNIQUE)"))
    yield made
    made.dispose()


def note(who: str):  # type: ignore[no-untyped-def]
    def write(conn: Connection) -> None:
        conn.execute(sa.text("INSERT INTO notes (who) VALUES (:who)"), {"who": who})

    return write


def names(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT who FROM notes ORDER BY id"))]


def wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_with_no_writer_at_work_a_rider_commits_at_once(engine: sa.Engine) -> None:
    ride(engine, note("alone"))
    assert names(engine) == ["alone"]


def test_a_rider_is_committed_by_the_transaction_in_progress_not_after_those_queued(
    engine: sa.Engine,
) -> None:
    queue = store_engine.writer_queue(engine)
    assert queue is not None
    carrier_may_commit = threading.Event()
    moments: dict[str, float] = {}

    def carrier() -> None:
        with write_transaction(engine) as conn:
            note("carrier")(conn)
            carrier_may_commit.wait(10)
        moments["carrier committed"] = time.monotonic()

    def queued() -> None:  # a long writer waiting its turn behind the carrier
        with write_transaction(engine) as conn:
            note("queued")(conn)
            time.sleep(1.5)
        moments["queued committed"] = time.monotonic()

    def rider() -> None:
        ride(engine, note("rider"))
        moments["rider returned"] = time.monotonic()

    threads = [threading.Thread(target=carrier)]
    threads[0].start()
    wait_for(lambda: not queue.idle())
    threads.append(threading.Thread(target=queued))
    threads[1].start()
    wait_for(lambda: len(queue._waiting) == 1)
    threads.append(threading.Thread(target=rider))
    threads[2].start()
    time.sleep(0.2)
    assert "rider returned" not in moments  # not before the carrier commits
    carrier_may_commit.set()
    for thread in threads:
        thread.join(20)
    # committed with the carrier: back well before the writer queued ahead of it is done
    assert moments["rider returned"] < moments["queued committed"]
    assert moments["rider returned"] >= moments["carrier committed"] - 0.05
    assert sorted(names(engine)) == ["carrier", "queued", "rider"]
    # the rider's row was written in the carrier's transaction: it comes right after it
    assert names(engine).index("rider") == names(engine).index("carrier") + 1


def test_a_failing_rider_is_undone_alone_and_its_caller_gets_the_error(
    engine: sa.Engine,
) -> None:
    ride(engine, note("taken"))
    carrier_may_commit = threading.Event()
    errors: list[BaseException] = []
    queue = store_engine.writer_queue(engine)
    assert queue is not None

    def carrier() -> None:
        with write_transaction(engine) as conn:
            note("carrier")(conn)
            carrier_may_commit.wait(10)

    def rider() -> None:
        try:
            ride(engine, note("taken"))  # the unique index refuses it
        except sa.exc.IntegrityError as exc:
            errors.append(exc)

    first = threading.Thread(target=carrier)
    first.start()
    wait_for(lambda: not queue.idle())
    second = threading.Thread(target=rider)
    second.start()
    time.sleep(0.1)
    carrier_may_commit.set()
    first.join(10)
    second.join(10)
    assert len(errors) == 1
    assert names(engine) == ["taken", "carrier"]  # the carrier's own write committed


def test_a_carrier_that_fails_leaves_its_riders_for_the_next_writer(engine: sa.Engine) -> None:
    queue = store_engine.writer_queue(engine)
    assert queue is not None
    carrier_may_end = threading.Event()
    returned = threading.Event()

    def carrier() -> None:
        try:
            with write_transaction(engine) as conn:
                note("carrier")(conn)
                carrier_may_end.wait(10)
                raise RuntimeError("the carrier fails")
        except RuntimeError:
            pass

    def rider() -> None:
        ride(engine, note("rider"))
        returned.set()

    first = threading.Thread(target=carrier)
    first.start()
    wait_for(lambda: not queue.idle())
    second = threading.Thread(target=rider)
    second.start()
    time.sleep(0.1)
    carrier_may_end.set()
    first.join(10)
    assert returned.wait(10)
    assert names(engine) == ["rider"]  # the carrier's write rolled back, the rider's landed


def test_ride_inside_a_write_transaction_is_refused(engine: sa.Engine) -> None:
    with write_transaction(engine), pytest.raises(RuntimeError, match="wait for itself"):
        ride(engine, note("nested"))


def autocheckpoint(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_while_checkpointing_commits_leave_checkpoints_to_the_thread(engine: sa.Engine) -> None:
    database = Path(str(engine.url.database))
    assert autocheckpoint(engine) == 1000  # SQLite's default: the COMMIT checkpoints
    with checkpointing(engine, every_s=0.05):
        assert autocheckpoint(engine) == CHECKPOINT_SAFETY_PAGES
        before = database.stat().st_size
        with write_transaction(engine) as conn:  # a few dozen pages: no COMMIT would checkpoint
            for n in range(2000):
                note(f"row {n} " + "x" * 40)(conn)
        # the rows reach the database file itself only by a checkpoint, which nobody here runs
        wait_for(lambda: database.stat().st_size > before)
        assert any(t.name == "touchpoint-checkpoint" for t in threading.enumerate())
    assert not any(t.name == "touchpoint-checkpoint" for t in threading.enumerate())
    assert autocheckpoint(engine) == 1000
    assert len(names(engine)) == 2000


def test_the_first_of_two_checkpointing_blocks_to_end_leaves_the_other_on(
    engine: sa.Engine,
) -> None:
    """A worker's block and its runtime's on one database: the first to end must not turn the
    COMMIT's checkpoints back on under the block still running."""
    with checkpointing(engine, every_s=0.05):
        with checkpointing(engine, every_s=0.05, thread=False):
            assert autocheckpoint(engine) == CHECKPOINT_SAFETY_PAGES
        assert autocheckpoint(engine) == CHECKPOINT_SAFETY_PAGES
    assert autocheckpoint(engine) == 1000


def test_without_the_thread_a_small_commit_stays_in_the_wal(engine: sa.Engine) -> None:
    """The check above means something: with no checkpointer, the same commit leaves the
    database file as it was."""
    database = Path(str(engine.url.database))
    before = database.stat().st_size
    with write_transaction(engine) as conn:
        for n in range(2000):
            note(f"row {n} " + "x" * 40)(conn)
    time.sleep(0.3)
    assert database.stat().st_size == before
