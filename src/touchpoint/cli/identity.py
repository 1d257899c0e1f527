"""`touchpoint identity conflicts|dismiss|merges`: what merge protection blocked, and every merge."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened
from touchpoint.domain.vocabulary import CONFLICT_STATUSES

group = typer.Typer(
    help="Identity resolution: conflicts (merges that merge protection blocked) and merge records.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="identity")


@group.command("conflicts")
def identity_conflicts(
    status: Annotated[str, typer.Option(help=f"Which: {', '.join(CONFLICT_STATUSES)}")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Conflicts to show")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first")] = 0,
    data_dir: DataDir = None,
) -> None:
    """List the merges merge protection blocked, to review them.

    A conflict is an event that named one customer but carried an identity another one holds,
    when merging them would break the merge limits (TOUCHPOINT_MERGE_LIMITS; by default two user
    ids never merge through a shared email or phone). Merge the two with `touchpoint customer
    merge` if they are one person, or keep them apart with `touchpoint identity dismiss`."""
    from touchpoint.services import identity as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        total, rows = service.list_conflicts(conn, status=status, limit=limit, offset=offset)
    if not rows:
        show.console.print(
            f"No {status} identity conflicts." if total == 0 else "None on this page."
        )
        return
    table = Table(
        title=f"Identity conflicts ({status}): {offset + 1:,}–{offset + len(rows):,} of {total:,}"
    )
    for column in (
        "id",
        "events landed on",
        "identity",
        "kept by",
        "reason",
        "events",
        "last",
        "status",
    ):
        table.add_column(column, no_wrap=column in ("id", "events landed on", "kept by"))
    for row in rows:
        table.add_row(
            str(row.id),
            show.plain(row.customer_id),
            show.plain(f"{row.kind}:{row.value}"),
            show.plain(row.other_id),
            show.plain(row.reason),
            f"{row.events:,}",
            show.when(row.last_at),
            row.status,
        )
    show.console.print(table)


@group.command("dismiss")
def identity_dismiss(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id (identity conflicts)")],
    data_dir: DataDir = None,
) -> None:
    """Mark a conflict reviewed: the two customers are different people."""
    from touchpoint.services import identity as service

    with opened(data_dir) as tp:
        conflict = service.dismiss_conflict(tp, conflict_id, actor=cli_actor())
    show.console.print(
        f"conflict {conflict.id} dismissed: {show.plain(conflict.customer_id)} and "
        f"{show.plain(conflict.other_id)} stay apart"
    )


@group.command("merges")
def identity_merges(
    customer: Annotated[
        str | None,
        typer.Argument(
            help="Only merges of this customer: id (cus_…), email, phone or external id"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Merges to show")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first")] = 0,
    data_dir: DataDir = None,
) -> None:
    """List merges, newest first: what tied the two, and whether the merge still holds.

    Undo one with `touchpoint customer unmerge MERGE_ID`."""
    from touchpoint.services import customers as customer_service
    from touchpoint.services import identity as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        found = None
        if customer is not None:
            found = customer_service.find_one(
                conn, customer, default_region=tp.settings.default_region
            )
        total, rows = service.list_merges(conn, found, limit=limit, offset=offset)
    if not rows:
        show.console.print("No merges." if total == 0 else "None on this page.")
        return
    table = Table(title=f"Merges: {offset + 1:,}–{offset + len(rows):,} of {total:,}")
    # Two facts a cell, so the whole ids fit an 80-column terminal (they are what people copy).
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("survivor\n← merged", no_wrap=True)
    table.add_column("linked by")
    table.add_column("cause\nat", no_wrap=True)
    table.add_column("holds", no_wrap=True)
    for row in rows:
        table.add_row(
            str(row.id),
            f"{show.plain(row.survivor_id)}\n← {show.plain(row.merged_id)}",
            show.plain(row.linking_key or "-"),
            f"{row.cause}\n{show.when(row.merged_at)}",
            "undone" if row.undone_at else "yes",
        )
    show.console.print(table)
