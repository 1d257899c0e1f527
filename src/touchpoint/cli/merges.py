"""`touchpoint customer merge|unmerge`: merging two customers by hand, and undoing a merge."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.cli import customers
from touchpoint.cli.options import DataDir, cli_actor, opened

Who = typer.Argument(help="Customer id (cus_…), email, phone or external id")


def register(_app: typer.Typer) -> None:
    customers.group.command("merge")(customer_merge)
    customers.group.command("unmerge")(customer_unmerge)


def customer_merge(
    first: Annotated[str, Who],
    second: Annotated[str, Who],
    data_dir: DataDir = None,
) -> None:
    """Merge two customers by hand: the one created first keeps its id and gets the other's
    identities, interactions and traits (newest values); merge protection does not apply."""
    from touchpoint.services import customers as customer_service
    from touchpoint.services import identity as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp:
        with read_connection(tp.engine) as conn:
            region = tp.settings.default_region
            ids = [
                customer_service.find_one(conn, q, default_region=region) for q in (first, second)
            ]
        record = service.merge_customers(tp, *ids, actor=cli_actor())
    show.console.print(
        f"merged {show.plain(record.merged_id)} into {show.plain(record.survivor_id)} "
        f"(merge {record.id}; undo it with: touchpoint customer unmerge {record.id})"
    )


def customer_unmerge(
    merge_id: Annotated[
        int, typer.Argument(help="The merge's id (touchpoint identity merges CUSTOMER)")
    ],
    data_dir: DataDir = None,
) -> None:
    """Undo a merge: the merged customer gets back its id, identities, profile and every
    interaction that came from it; both customers' lifecycles are refolded."""
    from touchpoint.services import identity as service

    with opened(data_dir) as tp:
        undone = service.unmerge(tp, merge_id, actor=cli_actor())
    keys = ", ".join(undone.keys) or "none"
    count = f"{undone.interactions:,} interaction{'' if undone.interactions == 1 else 's'}"
    show.console.print(
        f"merge {undone.merge_id} undone: {show.plain(undone.restored_id)} is its own customer "
        f"again ({count}; identities: {show.plain(keys)}); "
        f"{show.plain(undone.survivor_id)} keeps the rest"
    )
