"""`touchpoint keys create|list|revoke|rotate|identity-secret`: API keys, each secret printed once
(only its hash is stored); expiry, last use and who made each key; a browser key's web origins
and the identity secret that signs the userIds its pages identify."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import MOMENT_RULE, DataDir, cli_actor, moment_parser, opened
from touchpoint.domain.vocabulary import API_KEY_SCOPES

_SIGNING_HELP = (
    "To let a page identify a user a server already identified, sign the userId on your "
    "server: user_hash = HMAC-SHA256(identity secret, userId) as hex, sent as "
    "context.user_hash (docs/segment.md)."
)

group = typer.Typer(
    help="Manage API keys: create, list, revoke, rotate; browser identity secrets.",
    no_args_is_help=True,
)

_LIFETIME = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="keys")


def _expiry(text: str | None) -> datetime | None:
    """`--expires`: a lifetime (90d, 12h, 4w) or a moment."""
    if text is None:
        return None
    found = _LIFETIME.match(text.strip())
    if found:
        return datetime.now(UTC) + int(found[1]) * _UNITS[found[2]]
    return moment_parser("--expires")(text)  # a mistake is refused there, naming --expires


@group.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help=f"One of: {', '.join(API_KEY_SCOPES)}")],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by")] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN", help=f"Refuse the key from then on: 90d, 12h, 4w or {MOMENT_RULE}"
        ),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ORIGIN",
            help="A web origin a browser key may be used from (repeat for more): "
            "https://shop.example.com, http://localhost:8080, or https://*.example.com for "
            "every subdomain",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once (only its hash is stored). A browser key
    (--scope browser --origin https://shop.example.com) is meant to be public in a web page:
    it records interactions only, and only from pages on its origins."""
    from touchpoint.services.keys import create_key, identity_secret
    from touchpoint.store.engine import write_transaction

    expires_at = _expiry(expires)
    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        key, secret = create_key(
            conn,
            scope=scope,
            name=name,
            expires_at=expires_at,
            created_by=cli_actor(),
            origins=origin or (),
        )
        signing = identity_secret(conn, key.id) if key.origins else None
    until = f", expires {show.when(expires_at)}" if expires_at else ""
    where = f", for {show.plain(', '.join(key.origins))}" if key.origins else ""
    show.console.print(f"{key.scope} key {key.id}{until}{where}: [bold]{secret}[/]")
    show.console.print("Store it now: it cannot be shown again.", style="dim")
    if signing:
        show.console.print(f"identity secret (server side only, never in a page): {signing}")
        show.console.print(_SIGNING_HELP, style="dim")


@group.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Revoked keys too")] = False,
    data_dir: DataDir = None,
) -> None:
    """List API keys, newest first: scope, name, who made it, last use, expiry, status."""
    from touchpoint.services.keys import list_keys
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        keys = list_keys(conn, include_revoked=all_keys)
    if not keys:
        show.console.print(
            "No API keys." if all_keys else "No active API keys (--all: revoked too)."
        )
        return
    table = Table(title=f"API keys ({len(keys)})")
    columns = ("id", "scope", "name", "origins", "created\nby", "last used", "expires", "status")
    for column in columns:
        table.add_column(column, no_wrap=column in ("id", "status"))
    for key in keys:
        status = key.status
        if key.replaced_by:
            status += f"\n→ {key.replaced_by}"
        table.add_row(
            key.id,
            key.scope,
            show.plain(key.name or "-"),
            show.plain("\n".join(key.origins or ()) or "-"),
            f"{show.when(key.created_at)}\n{show.plain(key.created_by or '-')}",
            show.when(key.last_used_at) if key.last_used_at else "never",
            show.when(key.expires_at) if key.expires_at else "never",
            status,
        )
    show.console.print(table)


@group.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…), as keys list shows it")],
    data_dir: DataDir = None,
) -> None:
    """Revoke an API key: it is refused from its next request on."""
    from touchpoint.services.keys import revoke_key
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        key = revoke_key(conn, key_id, actor=cli_actor())
    show.console.print(f"key {key.id} ({key.scope}) revoked")


@group.command("rotate")
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…), as keys list shows it")],
    data_dir: DataDir = None,
) -> None:
    """Replace a key: a new secret with the same scope, name and expiry, and the old key revoked
    in the same transaction. Put the new secret where the old one was used."""
    from touchpoint.services.keys import rotate_key
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        key, secret = rotate_key(conn, key_id, created_by=cli_actor())
    show.console.print(f"key {key_id} revoked; its replacement {key.id}: [bold]{secret}[/]")
    show.console.print("Store it now: it cannot be shown again.", style="dim")


@group.command("identity-secret")
def keys_identity_secret(
    key_id: Annotated[str, typer.Argument(help="A browser key's id (key_…)")],
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate", help="Make a new one: identifies signed with the old one stop linking"
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Show (or --rotate) a browser key's identity secret: your server signs each userId it
    puts in a page with it (HMAC-SHA256, hex, sent as context.user_hash), so that a page may
    identify a user a server already identified. Keep it on the server, never in a page."""
    from touchpoint.services.keys import identity_secret, rotate_identity_secret
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        if rotate:
            secret = rotate_identity_secret(conn, key_id, actor=cli_actor())
        else:
            secret = identity_secret(conn, key_id)
    show.console.print(f"identity secret of {key_id}{' (new)' if rotate else ''}: {secret}")
    show.console.print(_SIGNING_HELP, style="dim")
