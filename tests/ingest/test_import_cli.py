"""`touchpoint import` in a subprocess: what a person sees for columns kept as properties,
conflicts, future-dated rows and a CSV with nothing under its header."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import touchpoint

HEADER = "id,type,channel,occurred_at,email,revenue,currency,colour\n"


def test_the_import_says_what_it_kept_and_what_it_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = tmp_path / "orders.csv"
    first.write_text(HEADER + "o1,purchase,web,2026-02-01T10:00:00Z,a@example.com,20,EUR,red\n")
    assert touchpoint("import", str(first), data_dir=data).returncode == 0
    again = tmp_path / "orders-2.csv"
    again.write_text(
        HEADER
        + "o1,purchase,web,2026-02-01T10:00:00Z,a@example.com,25,EUR,red\n"
        + "o2,purchase,web,2099-02-01T10:00:00Z,a@example.com,5,EUR,\n"
        + "o3,purchase,web,2026-02-02T10:00:00Z,a@example.com,5,EUR,blue\n"
    )
    result = touchpoint("import", str(again), data_dir=data)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # the table's wrapping aside
    assert "warning: column 'colour' is not an interaction field; stored as properties.colour" in (
        out
    )
    assert "conflicts (id stored, other content) │ 1" in out
    assert "│ 2 │ id o1 already stored with different content (fields: revenue) │" in out
    assert "│ 3 │ occurred_at: 2099-02-01T10:00:00+00:00 is in the future" in out
    assert "accepted │ 1" in out


def test_a_csv_with_only_a_header_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(HEADER)
    result = touchpoint("import", str(path), data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: calls.csv has a header line but no rows: nothing to import"
    ]


def test_an_import_of_conflicts_only_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "o1,purchase,web,2026-02-01T10:00:00Z,a@example.com,20,EUR,\n")
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    path.write_text(HEADER + "o1,purchase,web,2026-02-01T10:00:00Z,a@example.com,21,EUR,\n")
    assert touchpoint("import", str(path), data_dir=data).returncode == 1
