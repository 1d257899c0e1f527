"""The `touchpoint` command line: demo, serve, import, customer, keys."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from touchpoint import console as show
from touchpoint.analytics.commands import report as analytics_report
from touchpoint.analytics.spend_commands import spend_app
from touchpoint.errors import ConfigError, NotFound, TouchpointError, ValidationError
from touchpoint.lifecycle.commands import lifecycle_app
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import customers as customer_service
from touchpoint.services.keys import SCOPES, create_key
from touchpoint.settings import load_settings
from touchpoint.store.engine import read_connection, write_transaction

app = typer.Typer(
    help="Touchpoint: customer lifecycle management for omnichannel contact centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
customer_app = typer.Typer(
    help="Look up customers: profile, identities and timeline; list them by stage.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(keys_app, name="keys")
app.add_typer(spend_app, name="spend")
app.add_typer(lifecycle_app, name="lifecycle")
app.command("report")(analytics_report)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="TOUCHPOINT_DATA_DIR",
        help="Data directory of the embedded database (default ./touchpoint-data). "
        "Ignored when TOUCHPOINT_DATABASE_URL is set.",
        show_default=False,
    ),
]
Host = Annotated[str, typer.Option(help="Interface to serve on.")]
Port = Annotated[int, typer.Option(help="Port to serve on.")]


def _open(data_dir: Path | None) -> Touchpoint:
    return open_touchpoint(load_settings(data_dir=data_dir))


@app.command()
def serve(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) over an existing data directory."""
    import uvicorn

    from touchpoint.api.app import create_app

    tp = _open(data_dir)
    show.console.print(
        f"Serving Touchpoint on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(create_app(tp, background_jobs=True), host=host, port=port, log_level="warning")


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV (header row of interaction fields) or JSONL; .gz ok")
    ],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the file name)")
    ] = None,
    show_rejected: Annotated[int, typer.Option(help="How many rejected rows to list")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Import interactions from a file. Re-importing a file stores nothing twice.

    JSONL lines are interactions in the shape POST /v1/interactions takes, or Segment
    identify/track/page/alias messages. CSV columns: id, type, channel, direction, occurred_at,
    email, phone, external_id, anonymous_id, source, medium, campaign, keyword, creative, agent,
    queue, duration_s, outcome, revenue, currency, name, properties.X, traits.X, handles.NETWORK.
    """
    from touchpoint.ingest.files import import_file

    if not file.is_file():
        raise ValidationError(f"no such file: {file}")
    tp = _open(data_dir)
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    started = time.perf_counter()
    with Progress(*columns, console=show.errors, transient=True) as progress:
        task = progress.add_task("import", total=file.stat().st_size)
        report = import_file(
            tp, file, file_format=file_format, on_bytes=lambda n: progress.advance(task, n)
        )
    show.import_report(report, time.perf_counter() - started, show_rejected=show_rejected)
    if report.rejected and not report.accepted and not report.duplicates:
        raise typer.Exit(1)


@customer_app.command("show")
def customer_show(
    query: Annotated[
        str,
        typer.Argument(
            help="Customer id (cus_…), email, phone or external id — guessed from its shape"
        ),
    ],
    limit: Annotated[int, typer.Option(help="Timeline rows to show")] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Show older rows: the cursor printed last time")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Show one customer: profile, identities, merges, traits and timeline (newest first)."""
    tp = _open(data_dir)
    with read_connection(tp.engine) as conn:
        customer_id = _find_one(conn, query, tp.settings.default_region)
        view = customer_service.customer_view(conn, customer_id, limit=limit, cursor=cursor)
    show.customer_view(view)


@customer_app.command("list")
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
    tp = _open(data_dir)
    with read_connection(tp.engine) as conn:
        total, rows = customer_service.find_customers(
            conn, [], stage=stage, limit=limit, offset=offset
        )
    show.customer_list(rows, total=total, offset=offset, stage=stage)


def _find_one(conn: Connection, query: str, region: str) -> str:
    if query.startswith("cus_"):
        return query
    if "@" in query:
        guesses = [{"email": query}]
    elif (
        query.lstrip("+")
        .replace(" ", "")
        .replace("-", "")
        .replace("(", "")
        .replace(")", "")
        .isdigit()
    ):
        guesses = [{"phone": query}, {"external_id": query}]
    else:
        guesses = [{"external_id": query}, {"anonymous_id": query}]
    for guess in guesses:
        try:
            keys = customer_service.lookup_keys(default_region=region, **guess)
        except ValidationError:
            continue
        _total, found = customer_service.find_customers(conn, keys, limit=1)
        if found:
            return str(found[0]["id"])
    raise NotFound(f"no customer known by {query!r}")


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help=f"One of: {', '.join(SCOPES)}")],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    tp = _open(data_dir)
    with write_transaction(tp.engine) as conn:
        key, secret = create_key(conn, scope=scope, name=name)
    show.console.print(f"{key.scope} key {key.id}: [bold]{secret}[/]")
    show.console.print("Store it now: it cannot be shown again.", style="dim")


@app.command()
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
    from touchpoint.demo.run import run_demo

    tp = _open(data_dir)
    run_demo(tp, customers=customers, seed=seed, api_url=f"http://{host}:{port}")
    if serve_api:
        serve(data_dir=data_dir, host=host, port=port)


def main() -> None:
    """Entry point: user mistakes print one line, not a traceback."""
    try:
        app()
    except ConfigError as exc:
        show.errors.print(f"[red]configuration error:[/] {exc}")
        sys.exit(2)
    except TouchpointError as exc:
        show.errors.print(f"[red]error:[/] {exc}")
        sys.exit(1)
    except OperationalError as exc:
        show.errors.print(f"[red]database error:[/] {str(exc.orig or exc).splitlines()[0]}")
        sys.exit(1)
