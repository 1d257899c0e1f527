"""`touchpoint demo` (simulate a business, ingest it, summarise it, serve it) and `touchpoint
serve`. The work is services.demo; this module shows its progress and prints what it found."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, Host, Port, opened

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint
    from touchpoint.services.demo import DemoResult, DemoStep
    from touchpoint.store.overview import BusinessOverview

SERVED_APP = "touchpoint.api.serve:served_app"  # a zero-argument factory, for uvicorn
STEP_TEXT = {
    "clock": "letting the lifecycle clock run to the simulation's end",
    "spend": "importing campaign spend",
    "summary": "summarising the business",
    "analytics": "building the analytics copy and the lifecycle map",
}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("serve")(serve)


def serve(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) over an existing data directory."""
    with opened(data_dir) as tp:  # a mistake in the settings stops here, in one line
        _serve(tp, host, port)


def _serve(tp: Touchpoint, host: str, port: int) -> None:
    """Uvicorn imports the API by name (the CLI does not import the API), so the served app
    opens the same data directory through the environment."""
    import uvicorn

    os.environ["TOUCHPOINT_DATA_DIR"] = str(tp.settings.data_dir)
    show.console.print(
        f"Serving Touchpoint on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(SERVED_APP, factory=True, host=host, port=port, log_level="warning")


def demo(
    customers: Annotated[int, typer.Option(help="How many customers to simulate")] = 5_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same business")] = 7,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")
    ] = True,
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
) -> None:
    """Simulate a business (~18 months, all channels), ingest it, summarise, and serve the API."""
    from touchpoint.services.demo import run_demo

    with opened(data_dir, create=True) as tp:
        with _Progress() as progress:
            result = run_demo(
                tp,
                customers=customers,
                seed=seed,
                on_step=progress.step,
                on_ingested=progress.ingested,
            )
        print_demo(result, api_url=f"http://{host}:{port}")
        if serve_api:
            _serve(tp, host, port)


class _Progress:
    """On stderr: a counter while the demo ingests, then a spinner naming each step."""

    def __init__(self) -> None:
        self._live: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop()

    def step(self, step: DemoStep) -> None:
        from rich.progress import (
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._stop()
        if step == "ingest":
            columns = (
                SpinnerColumn(),
                TextColumn("ingesting demo interactions"),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            self._live = Progress(*columns, console=show.errors, transient=True)
            self._task = self._live.add_task("demo", total=None)
        else:
            self._live = show.errors.status(STEP_TEXT[step])
        self._live.start()

    def ingested(self, n: int) -> None:
        if self._task is not None:
            self._live.advance(self._task, n)

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()
        self._live = self._task = None


def print_demo(result: DemoResult, *, api_url: str) -> None:
    report, seconds = result.ingest, result.ingest_seconds
    rate = report.total / seconds if seconds > 0 else 0.0
    show.console.print(
        f"Ingested {report.total:,} interactions in {seconds:.1f} s ({rate:,.0f}/s): "
        f"{report.accepted:,} new, {report.duplicates:,} already stored, "
        f"{len(report.rejected):,} rejected."
    )
    show.console.print(
        f"Imported {result.spend.stored:,} rows of campaign spend from {result.spend_file.name}."
    )
    _print_overview(result.overview)
    stages = result.stages
    show.console.print(show.stage_counts(f"Customers by lifecycle stage ({stages.model})", stages))
    if result.sample is not None:
        show.customer_view(result.sample)
    show.console.print(show.rich_table(result.funnel))
    show.console.print(
        "The lifecycle map (every stage-to-stage flow, losses included): "
        f"{result.lifecycle_map.as_uri()}\n"
        "More: touchpoint report --help (cohorts, churn, clv, attribution, kpis, …)"
    )
    _print_keys(result.keys, api_url)


def _print_overview(business: BusinessOverview) -> None:
    overview = Table(title="The business", show_header=False)
    overview.add_row("customers", f"{business.customers:,}")
    overview.add_row("profiles merged by identity resolution", f"{business.merged_profiles:,}")
    overview.add_row("purchase revenue", f"{business.purchase_revenue:,.2f}")
    show.console.print(overview)
    show.console.print(_counts("Interactions by channel", "channel", business.by_channel))
    show.console.print(_counts("Interactions by type", "type", business.by_type))


def _counts(title: str, what: str, counts: tuple[tuple[str, int], ...]) -> Table:
    table = Table(title=title)
    table.add_column(what)
    table.add_column("interactions", justify="right")
    for value, n in counts:
        table.add_row(show.plain(value), f"{n:,}")
    return table


def _print_keys(keys: Mapping[str, str], api_url: str) -> None:
    table = Table(title="API keys created for this demo (shown once)")
    table.add_column("scope")
    table.add_column("key")
    for scope, secret in keys.items():
        table.add_row(scope, secret)
    show.console.print(table)
    show.console.print(
        f"Try: curl -H 'Authorization: Bearer {keys['read']}' '{api_url}/v1/customers?limit=3'"
    )
