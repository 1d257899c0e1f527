"""Mistakes a new user makes get one line, never a traceback, and change nothing."""

from __future__ import annotations

from pathlib import Path

from tests.builders import interaction
from tests.projections.test_registry import write_jsonl
from tests.test_cli import touchpoint


def one_line_error(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    return str(stderr)


def test_a_plot_into_a_missing_folder_is_refused_before_the_report_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = write_jsonl(tmp_path / "e.jsonl", [interaction(id="s", type="signup", email="a@x.co")])
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    message = one_line_error(
        touchpoint("report", "funnel", "--plot", str(tmp_path / "nope" / "f.html"), data_dir=data)
    )
    assert "--plot" in message and "nope" in message
    assert not (tmp_path / "nope").exists()


def test_an_empty_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "calls.csv"
    empty.write_bytes(b"")
    message = one_line_error(touchpoint("import", str(empty), data_dir=tmp_path / "data"))
    assert "calls.csv is empty" in message
