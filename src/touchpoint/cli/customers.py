"""`touchpoint customer show|list`: one customer's 360 view; customers by lifecycle stage."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened

group = typer.Typer(
    help="Look up customers: profile, identities and timeline; list them by stage.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="customer")


@group.command("show")
def customer_show(
    query: Annotated[
        str,
        typer.Argument(
            help="Customer id (cus_…), email, phone or external id — guessed from its shape"
        ),
    ],
    limit: Annotated[int, typer.Option(min=1, help="Timeline rows to show")] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Show older rows: the cursor printed last time")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Show one customer: profile, identities, merges, traits and timeline (newest first)."""
    from touchpoint.services import customers as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        customer_id = service.find_one(conn, query, default_region=tp.settings.default_region)
        view = service.customer_view(conn, customer_id, limit=limit, cursor=cursor)
    show.customer_view(view)


@group.command("list")
def customer_list(
    stage: Annotated[
        str | None,
        typer.Option(
            help="Only customers now in this lifecycle stage (e.g. at_risk), newest first"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Customers to show")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first")] = 0,
    data_dir: DataDir = None,
) -> None:
    """List customers — all of them, or those now in one lifecycle stage, the most recent
    arrivals first (who just became at_risk, who just churned)."""
    from touchpoint.services import customers as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        total, rows = service.find_customers(conn, [], stage=stage, limit=limit, offset=offset)
    show.customer_list(rows, total=total, offset=offset, stage=stage)
