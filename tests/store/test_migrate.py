"""Opening a database at the newest schema costs one query and never loads Alembic; the newest
revision read from the migration files is the one Alembic itself finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store.engine import make_engine
from touchpoint.store.migrate import alembic_config, current_revision, head_revision


def test_head_revision_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_at_head_opens_without_alembic(tmp_path: Path) -> None:
    open_touchpoint(Settings(data_dir=tmp_path)).close()  # created and migrated here
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from touchpoint.runtime import open_touchpoint\nfrom touchpoint.settings import Settings\n"
        f"open_touchpoint(Settings(data_dir=Path({str(tmp_path)!r})), create=False).close()\n"
        "print('alembic' in sys.modules, 'touchpoint.ingest.pipeline' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_database_behind_head_is_migrated(tmp_path: Path) -> None:
    from alembic import command

    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    config = alembic_config()
    with engine.begin() as conn:  # a data directory an older Touchpoint made
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    assert current_revision(engine) == "0004"
    engine.dispose()
    tp = open_touchpoint(settings, create=False)
    try:
        assert current_revision(tp.engine) == head_revision()
        with tp.engine.connect() as conn:
            # every projection was built on opening: the lifecycle, consent, scores, segments
            assert conn.execute(text("SELECT count(*) FROM checkpoints")).scalar() == 4
    finally:
        tp.close()


def test_data_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Personal data: the folder 0700, the database, its WAL and the analytics copy 0600."""
    from tests.builders import interaction
    from touchpoint.analytics import columnar

    data = tmp_path / "data"
    tp = open_touchpoint(Settings(data_dir=data))
    try:
        assert not tp.ingestor.ingest([(0, interaction(email="p@example.com"))]).rejected
        columnar.refresh(tp.settings)
        modes = {
            p.name: p.stat().st_mode & 0o777
            for p in data.iterdir()
            if p.name.startswith(("touchpoint.db", "analytics.duckdb"))
        }
    finally:
        tp.close()
    assert data.stat().st_mode & 0o777 == 0o700
    assert {"touchpoint.db", "touchpoint.db-wal", "analytics.duckdb"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes
