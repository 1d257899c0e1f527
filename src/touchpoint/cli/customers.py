"""`touchpoint customer show|list`: one customer's 360 view; customers by lifecycle stage."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Annotated, Any

import typer

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.customers import CustomerSummary

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
            help="Customer id (cus_…), email, phone, handle (instagram:kim_b), external id "
            "— guessed from its shape — or else a name"
        ),
    ],
    limit: Annotated[int, typer.Option(min=1, help="Timeline rows to show")] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Show older rows: the cursor printed last time")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Show one customer: profile, identities, merges, traits, timeline (newest first) and each
    score model's score now with its breakdown."""
    from touchpoint.cli.scores import print_scores
    from touchpoint.services import audit, consent, loyalty, scores
    from touchpoint.services import customers as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        customer_id = service.find_one(conn, query, default_region=tp.settings.default_region)
        view = service.customer_view(conn, customer_id, limit=limit, cursor=cursor)
        in_force = consent.in_force(conn, view.id)
        scored = scores.scores_of(conn, tp, view.id)
        points = loyalty.describe(loyalty.loyalty_of(conn, view.id))
        audit.record_read(tp.engine, cli_actor(), "customer.view", view.id)
    show.customer_view(view, in_force)
    print_scores(scored)  # each score model's score now, with its breakdown
    if points:
        show.console.print(points, markup=False)


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
    output: Annotated[
        str, typer.Option("--format", help="table, or csv / json to hand to a team or a tool")
    ] = "table",
    data_dir: DataDir = None,
) -> None:
    """List customers — all of them, or those now in one lifecycle stage, the most recent
    arrivals first (who just became at_risk, who just churned)."""
    from touchpoint.services import audit
    from touchpoint.services import customers as service
    from touchpoint.store.engine import read_connection

    if output not in LIST_FORMATS:
        raise ValidationError(f"unknown --format {output!r}; use one of {', '.join(LIST_FORMATS)}")
    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        total, rows = service.find_customers(conn, [], stage=stage, limit=limit, offset=offset)
        if output != "table":  # a file of people leaves the system: an export
            audit.record_read(
                tp.engine, cli_actor(), "customer.export", None, stage=stage, rows=len(rows)
            )
    if output == "table":
        show.customer_list(rows, total=total, offset=offset, stage=stage)
    elif output == "json":
        import orjson

        body = {"total": total, "offset": offset, "customers": [_record(r) for r in rows]}
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=LIST_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(_record(r) for r in rows)
        typer.echo(out.getvalue(), nl=False)


LIST_FORMATS = ("table", "csv", "json")
LIST_COLUMNS = (
    "id name email phone external_id stage interaction_count first_seen_at last_seen_at revenue"
).split()


def _record(row: CustomerSummary) -> dict[str, Any]:
    """A listed customer as a flat record (times in ISO 8601 UTC), the columns of the CSV."""
    from touchpoint.domain.moments import utc_text

    record = {name: getattr(row, name) for name in LIST_COLUMNS}
    for name in ("first_seen_at", "last_seen_at"):
        record[name] = utc_text(record[name]) if record[name] else None
    return record
