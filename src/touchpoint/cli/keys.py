"""`touchpoint keys create`: API keys, printed once (only their hashes are stored)."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened
from touchpoint.domain.vocabulary import API_KEY_SCOPES

group = typer.Typer(help="Manage API keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="keys")


@group.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help=f"One of: {', '.join(API_KEY_SCOPES)}")],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from touchpoint.services.keys import create_key
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        key, secret = create_key(conn, scope=scope, name=name)
    show.console.print(f"{key.scope} key {key.id}: [bold]{secret}[/]")
    show.console.print("Store it now: it cannot be shown again.", style="dim")
