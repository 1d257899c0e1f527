"""`touchpoint init`: create an empty data directory (or the schema in TOUCHPOINT_DATABASE_URL).

Only `init`, `demo` and `import` create data; every other command refuses a data directory
Touchpoint never made, so a mistyped --data-dir is an error, not an empty database's zeros."""

from __future__ import annotations

import typer

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(data_dir: DataDir = None) -> None:
    """Create an empty Touchpoint data directory (or database schema), ready for `serve`,
    `keys create` and imports. An existing one is only brought to the newest schema."""
    with opened(data_dir, create=True) as tp:
        where = tp.settings.database_name()
    show.console.print(f"Touchpoint data ready in {show.plain(where)}")
