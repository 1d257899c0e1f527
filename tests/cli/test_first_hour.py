"""A new user's first hour: a mistyped --data-dir is refused instead of answering with an empty
database's zeros, a mistake is refused before the heavy libraries load, and `init` creates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import interaction
from tests.cli.test_user_mistakes import one_line_error
from tests.projections.test_registry import write_jsonl
from tests.test_cli import touchpoint


@pytest.mark.parametrize(
    "command",
    [
        ("report", "funnel"),
        ("customer", "show", "ann@example.com"),
        ("customer", "list"),
        ("lifecycle", "summary"),
        ("projections", "status"),
        ("tick",),
        ("keys", "create", "--scope", "read"),
        ("identity", "conflicts"),
        ("serve", "--port", "1"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_missing_data_directory_is_refused_and_not_created(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    typo = tmp_path / "tuochpoint-data"
    message = one_line_error(touchpoint(*command, data_dir=typo))
    assert f"no Touchpoint data in {typo}" in message
    assert "touchpoint init" in message
    assert not typo.exists()


def test_init_creates_an_empty_data_directory_that_commands_then_read(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    created = touchpoint("init", data_dir=data)
    assert created.returncode == 0, created.stderr
    assert (data / "touchpoint.db").is_file()
    listed = touchpoint("customer", "list", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    again = touchpoint("init", data_dir=data)  # idempotent
    assert again.returncode == 0, again.stderr


def test_import_creates_the_data_directory(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [interaction(id="s", type="signup", email="a@x.co")])
    data = tmp_path / "new"
    done = touchpoint("import", str(path), data_dir=data)
    assert done.returncode == 0, done.stderr
    assert touchpoint("customer", "show", "a@x.co", data_dir=data).returncode == 0


HEAVY = ("ibis", "duckdb", "pyarrow", "plotly", "sqlalchemy", "alembic", "pandas")


def _modules_loaded(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI in a fresh process and report which heavy libraries it imported."""
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', *(m for m in {HEAVY!r} if m in sys.modules), "
        "file=sys.stderr))\n"
        f"sys.argv = ['touchpoint', *{list(argv)!r}]\n"
        "from touchpoint.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED"))
    return done, set(line.split()[1:])


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "nope"),
        ("report", "funnel", "--by", "stage"),
        ("report", "cohorts", "--interval", "year"),
        ("report", "funnel", "--format", "xml"),
        ("--help",),
    ],
    ids=" ".join,
)
def test_a_mistake_or_help_loads_no_heavy_library(tmp_path: Path, argv: tuple[str, ...]) -> None:
    done, loaded = _modules_loaded(*argv, "--data-dir", str(tmp_path / "d"))
    assert loaded == set(), loaded
    if argv != ("--help",):
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert len([x for x in done.stderr.splitlines() if not x.startswith("LOADED")]) == 1


def test_replay_with_clock_now_undoes_a_clock_set_in_the_future(tmp_path: Path) -> None:
    import re
    from datetime import UTC, datetime, timedelta

    data = tmp_path / "data"
    recent = datetime.now(UTC) - timedelta(days=2)
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [interaction(id="p", type="purchase", at=recent, email="a@example.com", revenue=3.0)],
    )
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    forced = touchpoint("tick", "--now", "2099-01-01", "--force", data_dir=data)
    assert forced.returncode == 0 and "1 → churned" in forced.stdout, forced.stdout
    refused = one_line_error(
        touchpoint("lifecycle", "replay", "--clock", "2099-06-01", data_dir=data)
    )
    assert "--clock" in refused and "in the future" in refused
    reset = touchpoint("lifecycle", "replay", "--clock", "now", data_dir=data)
    assert reset.returncode == 0, reset.stderr
    assert "Lifecycle clock 2099-01-01" in reset.stdout, reset.stdout
    summary = touchpoint("lifecycle", "summary", data_dir=data)
    assert re.search(r"conversion\s*│\s*1\b", summary.stdout), summary.stdout
    assert not re.search(r"churned\s*│\s*1\b", summary.stdout), summary.stdout
    ticked = touchpoint("tick", data_dir=data)  # the clock runs on from now, as before
    assert ticked.returncode == 0, ticked.stderr
    again = touchpoint("lifecycle", "summary", data_dir=data)
    assert re.search(r"conversion\s*│\s*1\b", again.stdout), again.stdout


def test_customer_show_finds_handles_and_names_and_lists_as_csv_or_json(tmp_path: Path) -> None:
    import csv
    import io
    import json

    data = tmp_path / "data"
    rows = [
        interaction(id="k1", type="signup", email="kim@example.com", traits={"name": "Kim Brook"}),
        interaction(id="k2", handles={"instagram": "kim_b"}, email="kim@example.com", at=1),
        interaction(
            id="a1",
            type="signup",
            email="al@example.com",
            at=2,
            traits={"first_name": "Al", "last_name": "Lee"},
        ),
        interaction(
            id="a2", type="signup", email="al2@example.com", at=3, traits={"name": "Al Lee"}
        ),
        interaction(
            id="s1",
            type="survey_response",
            channel="email",
            email="kim@example.com",
            at=4,
            properties={"survey": "csat", "score": 2},
        ),
    ]
    assert (
        touchpoint("import", str(write_jsonl(tmp_path / "e.jsonl", rows)), data_dir=data).returncode
        == 0
    )
    by_handle = touchpoint("customer", "show", "instagram:kim_b", data_dir=data)
    assert by_handle.returncode == 0 and "Kim Brook" in by_handle.stdout, by_handle.stderr
    assert "csat=2" in by_handle.stdout  # the survey's score shows in the timeline
    by_name = touchpoint("customer", "show", "kim brook", data_dir=data)
    assert by_name.returncode == 0 and "kim@example.com" in by_name.stdout, by_name.stderr
    namesakes = one_line_error(touchpoint("customer", "show", "Al Lee", data_dir=data))
    assert "several customers are named 'Al Lee'" in namesakes
    assert "al@example.com" in namesakes and "al2@example.com" in namesakes
    listed = touchpoint("customer", "list", "--format", "csv", data_dir=data)
    records = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert sorted(r["email"] for r in records) == [
        "al2@example.com",
        "al@example.com",
        "kim@example.com",
    ]
    assert {r["name"] for r in records} == {"Kim Brook", "Al Lee"}
    as_json = json.loads(touchpoint("customer", "list", "--format", "json", data_dir=data).stdout)
    assert as_json["total"] == 3 and len(as_json["customers"]) == 3
    assert one_line_error(touchpoint("customer", "list", "--format", "xml", data_dir=data))
