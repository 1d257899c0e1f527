"""`touchpoint spend import FILE`: load campaign spend from CSV for the CAC/ROI report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import load_settings

spend_app = typer.Typer(help="Campaign spend, for the cac report.", no_args_is_help=True)

SAMPLE = Path(__file__).resolve().parent.parent / "demo" / "campaign_spend.csv"


@spend_app.command("import")
def spend_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: date (YYYY-MM-DD), campaign, amount; optional source, medium, "
            "channel, currency. The demo's spend: " + str(SAMPLE)
        ),
    ],
    show_rejected: Annotated[int, typer.Option(help="How many rejected lines to list")] = 20,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="TOUCHPOINT_DATA_DIR",
            help="Data directory of the embedded database (default ./touchpoint-data).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import campaign spend. A (date, campaign, source, medium) already stored is replaced, so
    re-importing a corrected file never double-counts; bad lines are listed and skipped."""
    from touchpoint.analytics.spend import import_spend

    tp = open_touchpoint(load_settings(data_dir=data_dir))
    try:
        report = import_spend(tp.engine, file)
    finally:
        tp.close()
    summary = Table(title="Spend import", show_header=False)
    summary.add_row("stored", f"{report.stored:,}")
    summary.add_row("of which replaced earlier rows", f"{report.replaced:,}")
    summary.add_row("rejected", f"{len(report.rejected):,}")
    show.console.print(summary)
    if report.rejected:
        rejected = Table(title=f"Rejected lines (first {min(show_rejected, len(report.rejected))})")
        rejected.add_column("line", justify="right")
        rejected.add_column("reason")
        for line, reason in report.rejected[:show_rejected]:
            rejected.add_row(str(line), reason)
        show.console.print(rejected)
    if report.rejected and not report.stored:
        raise typer.Exit(1)
