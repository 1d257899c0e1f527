"""`touchpoint report NAME`: run one analytics report and print it, save it or plot it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.analytics.catalog import BREAKDOWNS, check_request
from touchpoint.cli.options import At, DataDir, From, To, opened
from touchpoint.errors import ValidationError

FORMATS = ("table", "csv", "json")


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    name: Annotated[str, typer.Argument(help="Report name, e.g. funnel, transitions, cohorts")],
    start: From = None,
    end: To = None,
    by: Annotated[
        str | None, typer.Option("--by", help=f"Breakdown: {', '.join(BREAKDOWNS)}")
    ] = None,
    interval: Annotated[
        str, typer.Option(help="Bucket of period-by-period reports: day, week or month")
    ] = "month",
    at: At = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the report: FILE.html or FILE.png")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="duckdb (the columnar copy) or the system of record: sqlite, postgres"),
    ] = "duckdb",
    data_dir: DataDir = None,
) -> None:
    """Run an analytics report: funnel, cohorts, churn, at-risk, kpis, clv, cac, attribution, …

    An unknown name lists them all. With --at, "now" (who is at risk, current stages, CLV) is
    that moment. The columnar copy is refreshed first."""
    # Mistakes first, from the catalog alone: refused before Ibis, DuckDB and Arrow load.
    check_request(name, by=by, interval=interval, engine=engine)
    if output not in FORMATS:
        raise ValidationError(f"unknown --format {output!r}; use one of {', '.join(FORMATS)}")
    if plot is not None and plot.suffix.lower() not in (".html", ".png"):
        raise ValidationError(f"--plot must end in .html or .png, not {plot.name!r}")
    if plot is not None and not plot.resolve().parent.is_dir():  # before the report runs
        raise ValidationError(f"--plot: no folder {str(plot.resolve().parent)!r} to write into")
    import orjson

    from touchpoint.analytics.output import payload, to_csv
    from touchpoint.analytics.plots import write_plot
    from touchpoint.analytics.service import make_request, report_spec, run_report

    spec = report_spec(name)
    request = make_request(spec, start=start, end=end, by=by, interval=interval, at=at)
    with opened(data_dir) as tp:  # creates/migrates the database
        result = run_report(tp.settings, spec.name, request, engine=engine)
    if output == "json":
        typer.echo(orjson.dumps(payload(result, request), option=orjson.OPT_INDENT_2).decode())
    elif output == "csv":
        typer.echo(to_csv(result), nl=False)
    else:
        show.console.print(show.rich_table(result))
    if plot is not None:
        write_plot(spec.plot(result), plot)
        show.errors.print(f"plot written to {show.plain(plot)}")
