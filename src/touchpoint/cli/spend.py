"""`touchpoint spend import FILE`: campaign spend from CSV, for the CAC/ROI report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened
from touchpoint.demo import DEMO_SPEND

group = typer.Typer(help="Campaign spend, for the cac report.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="spend")


@group.command("import")
def spend_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: date (YYYY-MM-DD), campaign, amount; optional source, medium, "
            "channel, currency. The demo's spend: " + str(DEMO_SPEND)
        ),
    ],
    show_rejected: Annotated[int, typer.Option(help="How many rejected lines to list")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Import campaign spend. A (date, campaign, source, medium) already stored is replaced, so
    re-importing a corrected file never double-counts; bad lines are listed and skipped."""
    from touchpoint.analytics.spend import import_spend

    with opened(data_dir, create=True) as tp:  # spend is data an import brings
        report = import_spend(tp.engine, file)
    summary = Table(title="Spend import", show_header=False)
    summary.add_row("stored", f"{report.stored:,}")
    summary.add_row("of which replaced earlier rows", f"{report.replaced:,}")
    summary.add_row("rejected", f"{len(report.rejected):,}")
    show.console.print(summary)
    show.rejected_rows(report.rejected, len(report.rejected), show_rejected, what="lines")
    if report.rejected and not report.stored:
        raise typer.Exit(1)
