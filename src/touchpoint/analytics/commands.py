"""`touchpoint report NAME`: run one analytics report and print it, save it or plot it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from touchpoint import console as show
from touchpoint.errors import ValidationError
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import load_settings

FORMATS = ("table", "csv", "json")
BREAKDOWNS = ("channel", "campaign", "segment", "stage")  # as analytics.reports.BREAKDOWNS


def report(
    name: Annotated[str, typer.Argument(help="Report name, e.g. funnel, transitions, cohorts")],
    start: Annotated[
        str | None, typer.Option("--from", help="Period start (inclusive): YYYY-MM-DD or ISO time")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Period end (exclusive): YYYY-MM-DD or ISO time")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help=f"Breakdown: {', '.join(BREAKDOWNS)}")
    ] = None,
    interval: Annotated[
        str, typer.Option(help="Bucket of period-by-period reports: day, week or month")
    ] = "month",
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The moment taken as now (YYYY-MM-DD or ISO time; default: now): who is at risk, "
            "current stages and CLV as they stood then",
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the report: FILE.html or FILE.png")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="duckdb (the columnar copy) or the system of record: sqlite, postgres"),
    ] = "duckdb",
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="TOUCHPOINT_DATA_DIR", help="Data directory"),
    ] = None,
) -> None:
    """Run an analytics report: funnel, transitions, time-in-stage, cohorts, composition, churn,
    at-risk, kpis (and clv, cac, attribution). The columnar copy is refreshed first."""
    # Imported here so the rest of the CLI starts without loading Ibis, DuckDB and Plotly.
    from touchpoint.analytics.output import payload, rich_table, to_csv
    from touchpoint.analytics.plots import write_plot
    from touchpoint.analytics.service import make_request, parse_moment, report_spec, run_report

    spec = report_spec(name)
    if output not in FORMATS:
        raise ValidationError(f"unknown --format {output!r}; use one of {', '.join(FORMATS)}")
    if plot is not None and plot.suffix.lower() not in (".html", ".png"):
        raise ValidationError(f"--plot must end in .html or .png, not {plot.name!r}")
    request = make_request(
        spec, start=start, end=end, by=by, interval=interval, at=parse_moment(at, "--at")
    )
    tp = open_touchpoint(load_settings(data_dir=data_dir))  # creates/migrates the database
    try:
        result = run_report(tp.settings, spec.name, request, engine=engine)
    finally:
        tp.close()
    if output == "json":
        typer.echo(orjson.dumps(payload(result), option=orjson.OPT_INDENT_2).decode())
    elif output == "csv":
        typer.echo(to_csv(result), nl=False)
    else:
        show.console.print(rich_table(result))
    if plot is not None:
        write_plot(spec.plot(result), plot)
        show.errors.print(f"plot written to {plot}")
