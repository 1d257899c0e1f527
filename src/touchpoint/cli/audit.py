"""`touchpoint audit`: the audit trail, newest first — who read or changed what, and when."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, From, opened
from touchpoint.domain.vocabulary import AUDIT_ACTIONS


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    action: Annotated[
        str | None, typer.Option(help=f"Only this action: {', '.join(AUDIT_ACTIONS)}")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Only this actor: cli:<user> or an API key id")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Only entries about this (a customer id, key id, …)")
    ] = None,
    since: From = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Entries to show")] = 50,
    data_dir: DataDir = None,
) -> None:
    """Show the audit trail: customer views, searches and exports, merges and unmerges,
    dismissed conflicts, keys created, revoked and rotated — who, what and when."""
    from touchpoint.services import audit as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        total, entries = service.entries(
            conn, action=action, actor=actor, subject=subject, since=since, limit=limit
        )
    if not entries:
        show.console.print("No audit entries." if total == 0 else "None on this page.")
        return
    table = Table(title=f"Audit trail: {len(entries):,} of {total:,}, newest first")
    for column in ("#", "when", "actor", "action", "subject", "detail"):
        table.add_column(column, no_wrap=column in ("#", "when", "action"))
    for entry in entries:
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
        table.add_row(
            str(entry.seq),
            show.when(entry.at),
            show.plain(entry.actor),
            entry.action,
            show.plain(entry.subject or "-"),
            show.plain(detail),
        )
    show.console.print(table)
