"""`touchpoint identity …` and `touchpoint customer merge|unmerge`, run as a user runs them (a
subprocess) against the same system of record as the `tp` fixture: SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.builders import interaction
from touchpoint.runtime import Touchpoint


def touchpoint(tp: Touchpoint, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"COLUMNS": "200", "PATH": "", "TOUCHPOINT_DATA_DIR": str(tp.settings.data_dir)}
    if tp.settings.database_url:
        env["TOUCHPOINT_DATABASE_URL"] = tp.settings.database_url
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def ingest(tp: Touchpoint, *items: dict) -> list[str]:
    report = tp.ingestor.ingest(enumerate(items))
    return [r.customer_id for r in report.results]


def test_conflicts_are_listed_and_dismissed(tp: Touchpoint) -> None:
    (mum,) = ingest(tp, interaction(id="m1", external_id="mum", email="home@example.com"))
    (son,) = ingest(tp, interaction(id="s1", external_id="son", email="home@example.com"))
    listed = touchpoint(tp, "identity", "conflicts")
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if "email:home@example.com" in line]
    assert re.search(rf"\b1\b.*{son}.*email:home@example\.com.*{mum}.*limit:external_id", row)
    assert "open" in row
    dismissed = touchpoint(tp, "identity", "dismiss", "1")
    assert dismissed.returncode == 0, dismissed.stderr
    assert dismissed.stdout.strip() == f"conflict 1 dismissed: {son} and {mum} stay apart"
    assert "No open identity conflicts." in touchpoint(tp, "identity", "conflicts").stdout
    bad = touchpoint(tp, "identity", "conflicts", "--status", "closed")
    assert one_error_line(bad) == (
        "error: unknown status 'closed'; use one of open, merged, dismissed, all"
    )
    assert one_error_line(touchpoint(tp, "identity", "dismiss", "99")) == (
        "error: no identity conflict 99"
    )


def test_merge_and_unmerge_by_hand(tp: Touchpoint) -> None:
    (ann,) = ingest(tp, interaction(id="a1", email="ann@example.com"))
    (bea,) = ingest(tp, interaction(id="b1", email="bea@example.com", at=1))
    merged = touchpoint(tp, "customer", "merge", "bea@example.com", ann)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.strip() == (
        f"merged {bea} into {ann} (merge 1; undo it with: touchpoint customer unmerge 1)"
    )
    shown = touchpoint(tp, "customer", "show", bea)
    assert shown.returncode == 0 and ann in shown.stdout
    listed = touchpoint(tp, "identity", "merges", "bea@example.com")
    lines = listed.stdout.splitlines()
    (at,) = [n for n, line in enumerate(lines) if f"← {bea}" in line]  # the merged id, whole
    assert re.search(rf"\b1\b.*{ann}.*manual.*yes", lines[at - 1]), lines[at - 1]

    undone = touchpoint(tp, "customer", "unmerge", "1")
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.strip() == (
        f"merge 1 undone: {bea} is its own customer again (1 interaction; identities: "
        f"email:bea@example.com); {ann} keeps the rest"
    )
    assert one_error_line(touchpoint(tp, "customer", "unmerge", "1")) == (
        "error: merge 1 was already undone"
    )
    assert one_error_line(touchpoint(tp, "customer", "unmerge", "7")) == "error: no merge 7"


def test_merging_a_customer_with_itself_is_one_line(tp: Touchpoint) -> None:
    (ann,) = ingest(tp, interaction(id="a1", email="ann@example.com"))
    result = touchpoint(tp, "customer", "merge", ann, "ann@example.com")
    assert one_error_line(result) == f"error: cannot merge customer {ann} into itself"
    unknown = touchpoint(tp, "customer", "merge", ann, "nobody@example.com")
    assert one_error_line(unknown) == "error: no customer known by 'nobody@example.com'"
