"""The projection contract on both engines: checkpoints, inline and deferred modes, catch-up,
version changes, and the status a user reads."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.builders import interaction
from tests.lifecycle.test_projection import snapshot
from touchpoint.lifecycle.model import load_model
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store import projections as positions
from touchpoint.store.engine import read_connection, write_transaction


def write_jsonl(path: Path, events: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def journey(prefix: str, emails: list[str]) -> list[dict]:
    events = []
    for n, email in enumerate(emails):
        events += [
            interaction(id=f"{prefix}{n}a", type="page_view", at=10 * n, email=email),
            interaction(id=f"{prefix}{n}b", type="signup", at=10 * n + 1, email=email),
            interaction(
                id=f"{prefix}{n}c", type="purchase", at=10 * n + 2, email=email, revenue=20.0
            ),
        ]
    return events


def test_inline_ingest_keeps_the_checkpoint_at_the_end_of_the_log(tp: Touchpoint) -> None:
    report = tp.ingestor.ingest(enumerate(journey("x", ["a@example.com", "b@example.com"])))
    assert report.accepted == 6
    status = tp.projections.status()[0]  # the lifecycle; consent follows
    assert (status.name, status.checkpoint, status.log_position, status.lag) == (
        "lifecycle",
        6,
        6,
        0,
    )
    assert not tp.projections.lagging()


def test_a_file_import_defers_then_catches_up_to_what_a_replay_gives(
    tp: Touchpoint, tmp_path: Path
) -> None:
    tp.ingestor.ingest(enumerate(journey("api", ["a@example.com"])))  # 3 events, applied inline
    file = write_jsonl(tmp_path / "e.jsonl", journey("f", ["a@example.com", "c@example.com"]))
    report = import_file(tp, file, catch_up=False)
    assert report.accepted == 6
    status = tp.projections.status()[0]  # the lifecycle; consent follows
    assert (status.checkpoint, status.lag) == (3, 6)  # the import wrote the log only
    with read_connection(tp.engine) as conn:
        c_known = positions.customers_after(conn, 3, 9)
    assert len(c_known) == 2
    result = tp.projections.catch_up()[0]
    assert (result.events, result.customers) == (9, 2)  # a@'s whole history, c@'s
    assert tp.projections.status()[0].lag == 0
    caught_up = snapshot(tp)
    tp.projections.replay("lifecycle", model=load_model())
    assert snapshot(tp) == caught_up
    assert tp.projections.catch_up()[0].mode == "none"  # nothing left: nothing done


def test_inline_batches_while_lagging_never_move_the_checkpoint_past_the_gap(
    tp: Touchpoint, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "e.jsonl", journey("f", ["a@example.com"]))
    import_file(tp, file, catch_up=False)  # positions 1-3, not applied
    late = interaction(id="api-late", type="call", channel="phone", at=5, email="a@example.com")
    tp.ingestor.ingest([(0, late)])  # position 4, folded inline on a stale state
    assert tp.projections.status()[0].checkpoint == 0  # still: 1-3 are not applied
    tp.projections.catch_up()
    assert tp.projections.status()[0].checkpoint == 4
    caught_up = snapshot(tp)
    tp.projections.replay("lifecycle")
    assert snapshot(tp) == caught_up


def test_a_projection_built_by_another_version_is_replayed_by_catch_up(tp: Touchpoint) -> None:
    tp.ingestor.ingest(enumerate(journey("x", ["a@example.com"])))
    before = snapshot(tp)
    with write_transaction(tp.engine) as conn:
        mark = positions.read_checkpoint(conn, "lifecycle")
        assert mark is not None
        positions.write_checkpoint(
            conn, "lifecycle", source="log", position=mark.position, version=0, now=mark.updated_at
        )
    status = tp.projections.status()[0]  # the lifecycle; consent follows
    assert status.needs_replay and tp.projections.lagging()
    result = tp.projections.catch_up()[0]
    assert result.mode == "replay"
    assert snapshot(tp) == before
    assert not tp.projections.status()[0].needs_replay


def test_merges_of_a_deferred_import_drop_the_merged_away_stage(
    tp: Touchpoint, tmp_path: Path
) -> None:
    tp.ingestor.ingest(
        [
            (0, interaction(id="p1", type="signup", at=0, email="a@example.com")),
            (1, interaction(id="p2", type="page_view", at=1, phone="+14155550101")),
        ]
    )
    assert len(snapshot(tp)[0]) == 2
    linking = interaction(
        id="p3", type="call", channel="phone", at=2, email="a@example.com", phone="+14155550101"
    )
    import_file(tp, write_jsonl(tmp_path / "m.jsonl", [linking]), catch_up=False)
    assert len(snapshot(tp)[0]) == 2  # deferred: the merged-away stage row is still there
    tp.projections.catch_up()
    stages, _ = snapshot(tp)
    assert len(stages) == 1
    caught_up = snapshot(tp)
    tp.projections.replay("lifecycle")
    assert snapshot(tp) == caught_up
