"""`touchpoint projections status|catch-up` and `touchpoint tick`, run as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.builders import interaction
from tests.projections.test_registry import write_jsonl
from tests.test_cli import touchpoint
from touchpoint.runtime import open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings


def test_status_shows_the_lag_of_a_deferred_import_and_catch_up_clears_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    events = [
        interaction(id=f"e{i}", type="signup", at=i, email=f"p{i}@example.com") for i in range(5)
    ]
    tp = open_touchpoint(Settings(data_dir=data))
    try:  # an import that stopped before its catch-up (as a crash would leave it)
        import_file(tp, write_jsonl(tmp_path / "e.jsonl", events), catch_up=False)
    finally:
        tp.close()
    status = touchpoint("projections", "status", data_dir=data)
    assert status.returncode == 0, status.stderr
    assert re.search(r"lifecycle\s*│\s*1\s*│\s*0\s*│\s*5\s*│\s*5\s*│\s*behind", status.stdout)
    caught = touchpoint("projections", "catch-up", data_dir=data)
    assert caught.returncode == 0, caught.stderr
    assert "5 events of 5 customers" in caught.stdout
    status = touchpoint("projections", "status", data_dir=data)
    assert re.search(r"│\s*5\s*│\s*5\s*│\s*0\s*│\s*current", status.stdout), status.stdout


def test_tick_lets_time_pass_and_is_safe_to_repeat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [interaction(id="p", type="purchase", at=0, email="a@example.com", revenue=3.0)],
    )
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    first = touchpoint("tick", "--now", "2026-06-01", data_dir=data)
    assert first.returncode == 0, first.stderr
    assert "1 → at_risk" in first.stdout  # 90 days without activity by June
    again = touchpoint("tick", "--now", "2026-06-01", data_dir=data)
    assert "already at 2026-06-01 00:00" in again.stdout


def test_a_bad_moment_or_projection_is_one_line(tmp_path: Path) -> None:
    bad = touchpoint("tick", "--now", "yesterday", data_dir=tmp_path / "data")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--now" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert touchpoint("init", data_dir=tmp_path / "data").returncode == 0
    unknown = touchpoint(
        "projections", "catch-up", "--name", "nonesuch", data_dir=tmp_path / "data"
    )
    assert unknown.returncode == 1 and "no projection 'nonesuch'" in unknown.stderr


def test_a_clock_in_the_future_is_refused_unless_forced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [interaction(id="p", type="purchase", at=0, email="a@example.com", revenue=3.0)],
    )
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    future = touchpoint("tick", "--now", "2099-01-01", data_dir=data)  # a typo of the year
    assert future.returncode == 1 and "Traceback" not in future.stderr
    assert "in the future" in future.stderr and "--force" in future.stderr
    assert len(future.stderr.strip().splitlines()) == 1
    summary = touchpoint("lifecycle", "summary", data_dir=data)
    assert re.search(r"conversion\s*│\s*1\b", summary.stdout), summary.stdout  # nobody moved
    forced = touchpoint("tick", "--now", "2099-01-01", "--force", data_dir=data)
    assert forced.returncode == 0 and "1 → churned" in forced.stdout
