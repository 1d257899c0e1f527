"""`touchpoint privacy export|erase`: everything held about one person, or its erasure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened

group = typer.Typer(
    help="One person's data: export everything held about them, or erase it.",
    no_args_is_help=True,
)

Customer = Annotated[
    str,
    typer.Argument(
        help="Customer id (cus_…), email, phone, handle (instagram:kim_b), external id — guessed "
        "from its shape — or else a name"
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="privacy")


@group.command("export")
def privacy_export(
    customer: Customer,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON here (created 0600), not to stdout"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Everything held about one person as one JSON document: profile, identities, merges,
    interactions, lifecycle, consent history and the audit entries about them."""
    import orjson

    from touchpoint.services import customers, privacy
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp:
        with read_connection(tp.engine) as conn:
            customer_id = customers.find_one(
                conn, customer, default_region=tp.settings.default_region
            )
        document = privacy.export(tp, customer_id, actor=cli_actor())
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if output is None:
        typer.echo(body.decode(), nl=False)
        return
    _write_private(output, body)
    show.console.print(
        f"Wrote {show.plain(str(output))} ({len(body):,} bytes, readable by you only)."
    )


def _write_private(path: Path, body: bytes) -> None:
    """Write `body` to `path`, readable and writable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to a file that existed
    with os.fdopen(descriptor, "wb") as out:
        out.write(body)


@group.command("erase")
def privacy_erase(
    customer: Customer,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    data_dir: DataDir = None,
) -> None:
    """Erase one person: identities, traits and the personal fields of their interactions,
    merges and conflicts, here and in the analytics copy; their interactions stay,
    pseudonymised, so counts and revenue do not change, and their identities are suppressed so
    late events do not bring them back. Cannot be undone."""
    from touchpoint.services import customers, privacy
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp:
        with read_connection(tp.engine) as conn:
            customer_id = customers.find_one(
                conn, customer, default_region=tp.settings.default_region
            )
        if not yes:
            typer.confirm(f"Erase {customer_id}'s personal data? This cannot be undone", abort=True)
        erased = privacy.erase(tp, customer_id, actor=cli_actor())
    merged = len(erased.customer_ids) - 1
    show.console.print(
        f"Erased {erased.customer_id}"
        + (f" (and {merged} customer{'s' * (merged != 1)} merged into it)" if merged else "")
        + f": {erased.identities} identities removed and suppressed, {erased.interactions:,} "
        f"interactions pseudonymised, {erased.merges} merge records cleared."
    )
    if erased.compacted is False:
        show.error("a reader held the database's WAL: run the erase again to empty it")
    if erased.residue:
        show.error(f"still found in: {', '.join(erased.residue)}")
