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
