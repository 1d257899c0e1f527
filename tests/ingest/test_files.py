"""File import: CSV and JSONL (plain and gzipped), line-numbered rejections, idempotent re-import."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from tests.builders import interaction
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.services.imports import import_file
from touchpoint.store import log
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

CSV = """id,type,channel,occurred_at,email,phone,source,medium,campaign,revenue,currency,properties.order_id,traits.name
c1,ad_click,ad,2026-02-01T10:00:00Z,ann@example.com,,google,cpc,spring,,,,Ann
c2,purchase,web,2026-02-02T10:00:00+01:00,ann@example.com,,,,,99.5,EUR,o-1,
c3,call,phone,2026-02-03T10:00:00Z,,415 555 0100,,,,,,,
c4,call,carrier-pigeon,2026-02-03T10:00:00Z,,415 555 0100,,,,,,,
c5,purchase,web,yesterday,ann@example.com,,,,,10,USD,,
"""


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def interactions_in_log(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return log.count(conn)


def test_csv_rows_land_and_bad_rows_are_reported_by_line(tp: Touchpoint, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    report = import_file(tp, path, keep_results=True)
    assert report.accepted == 3
    rejected = {r.position: r.reason for r in report.rejected}
    assert set(rejected) == {5, 6}
    assert rejected[5].startswith("channel:")
    assert rejected[6].startswith("occurred_at:")
    with read_connection(tp.engine) as conn:
        _, found = find_customers(conn, lookup_keys(email="ann@example.com"))
    assert found[0].traits == {"name": "Ann"}
    assert found[0].revenue == 99.5


def test_importing_the_same_file_twice_stores_it_once(tp: Touchpoint, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    import_file(tp, path)
    again = import_file(tp, path)
    assert (again.accepted, again.duplicates, len(again.rejected)) == (0, 3, 2)
    assert interactions_in_log(tp) == 3


def test_jsonl_mixes_interactions_and_segment_messages(tp: Touchpoint, tmp_path: Path) -> None:
    rows = [
        interaction(id="j1", email="bo@example.com", type="signup"),
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u-bo",
            "messageId": "m-1",
            "timestamp": "2026-02-05T10:00:00Z",
            "properties": {"revenue": 30, "currency": "USD"},
        },
        {
            "type": "identify",
            "userId": "u-bo",
            "traits": {"email": "bo@example.com"},
            "messageId": "m-2",
            "timestamp": "2026-02-05T11:00:00Z",
        },
    ]
    path = write_jsonl(tmp_path / "events.jsonl", rows)
    report = import_file(tp, path)
    assert (report.accepted, len(report.rejected)) == (3, 0), report.rejected
    with read_connection(tp.engine) as conn:
        total, found = find_customers(conn, lookup_keys(external_id="u-bo"))
    assert total == 1
    assert found[0].email == "bo@example.com" and found[0].revenue == 30


def test_broken_json_lines_are_rejected_and_the_rest_land(tp: Touchpoint, tmp_path: Path) -> None:
    good = orjson.dumps(interaction(id="g1", email="cy@example.com")).decode()
    path = tmp_path / "events.jsonl"
    path.write_text(f"{good}\n{{not json\n[1, 2]\n\n{good.replace('g1', 'g2')}\n")
    report = import_file(tp, path, keep_results=True)
    assert report.accepted == 2
    assert [(r.position, r.reason.split(":")[0]) for r in report.rejected] == [
        (2, "not valid JSON"),
        (3, "each line must be a JSON object"),
    ]


def test_gzipped_file_imports_and_truncated_one_keeps_what_was_readable(
    tp: Touchpoint, tmp_path: Path
) -> None:
    rows = [interaction(id=f"z{i}", email=f"z{i}@example.com") for i in range(2000)]
    data = gzip.compress(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    report = import_file(tp, truncated)
    assert 0 < report.accepted < 2000
    assert "cannot be read past this point" in (report.rejected[-1].reason or "")
    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(data)
    rest = import_file(tp, whole)
    assert rest.accepted + report.accepted == 2000 and rest.duplicates == report.accepted
    assert interactions_in_log(tp) == 2000


def test_a_misspelt_part_of_a_field_stops_the_import_with_a_clear_message(
    tp: Touchpoint, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,type,channel,occurred_at,customer.emial\n1,signup,web,2026-01-01T00:00:00Z,a@b.co\n"
    )
    with pytest.raises(ValidationError, match="line 1: unknown column 'customer.emial'"):
        import_file(tp, path)
    assert interactions_in_log(tp) == 0


def test_import_streams_so_memory_does_not_grow_with_file_size(
    sqlite_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    from touchpoint.services import imports

    monkeypatch.setattr(imports, "FILE_BATCH_SIZE", 5_000)  # memory is flat beyond one batch

    from touchpoint.runtime import open_touchpoint

    def peak_bytes_importing(rows: int) -> int:
        path = write_jsonl(
            tmp_path / f"{rows}.jsonl",
            [
                interaction(id=f"m{rows}-{i}", at=i, email=f"m{i % 997}@example.com")
                for i in range(rows)
            ],
        )
        tp = open_touchpoint(sqlite_settings.model_copy(update={"data_dir": tmp_path / f"d{rows}"}))
        tracemalloc.start()
        try:
            # the import itself; the catch-up after it reads the imported log columnar
            report = import_file(tp, path, catch_up=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            tp.close()
        assert report.accepted == rows
        return peak

    small, large = peak_bytes_importing(6_000), peak_bytes_importing(24_000)
    assert large < small * 1.5, (small, large)


def test_import_in_many_batches_resolves_and_reports_as_one_batch_would(
    tp: Touchpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file import's batches share one connection; results stay in line order and each batch
    resolves against the identities stored by the batches before it."""
    from touchpoint.services import imports

    rows: list[object] = [
        interaction(id="b1", anonymous_id="dev-1", at=0),
        interaction(id="b2", email="cat@example.com", at=1),
        {"id": "bad", "type": "page_view"},
        interaction(id="b3", email="cat@example.com", anonymous_id="dev-1", at=2),  # merges
        interaction(id="b4", anonymous_id="dev-1", at=3),
        interaction(id="b1", anonymous_id="dev-1", at=0),  # a duplicate of line 1
        interaction(id="b5", email="dan@example.com", at=4),
    ]
    path = write_jsonl(tmp_path / "batches.jsonl", rows)
    monkeypatch.setattr(imports, "FILE_BATCH_SIZE", 2)
    report = import_file(tp, path, keep_results=True)
    assert [(r.position, r.status) for r in report.results] == [
        (1, "accepted"),
        (2, "accepted"),
        (3, "rejected"),
        (4, "accepted"),
        (5, "accepted"),
        (6, "duplicate"),
        (7, "accepted"),
    ]
    owners = {r.id: r.customer_id for r in report.results if r.status == "accepted"}
    with read_connection(tp.engine) as conn:
        _, cat = find_customers(conn, lookup_keys(email="cat@example.com"))
        _, dev = find_customers(conn, lookup_keys(anonymous_id="dev-1"))
        moved = (
            conn.execute(
                select(interactions.c.customer_id)
                .distinct()
                .where(interactions.c.id.in_(["b1", "b2", "b3", "b4"]))
            )
            .scalars()
            .all()
        )
    assert cat[0].id == dev[0].id == owners["b3"] == owners["b4"]
    assert moved == [owners["b3"]]
    assert owners["b5"] != owners["b3"]
    assert interactions_in_log(tp) == 5
