"""`touchpoint demo` (simulate a business, ingest it, summarise it, serve it) and `touchpoint
serve`. The work is services.demo; this module shows its progress and prints what it found."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, Host, Port, opened
from touchpoint.errors import Conflict

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint
    from touchpoint.services.demo import DemoResult, DemoStep
    from touchpoint.store.overview import BusinessOverview

SERVED_APP = "touchpoint.api.serve:served_app"  # a zero-argument factory, for uvicorn
SERVED_PROTOCOL = "touchpoint.api.serve:ServedProtocol"  # uvicorn's h11 with our limits
STEP_TEXT = {
    "clock": "letting the lifecycle clock run to now",
    "spend": "importing campaign spend",
    "center": "configuring the contact center (queues, agents, routing rules)",
    "switchboard": "running the last hours at the contact center through the router",
    "summary": "summarising the business",
    "analytics": "building the analytics copy and the lifecycle map",
}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("serve")(serve)
    app.command("worker")(worker)


def serve(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Run the scheduler (projections, playbooks, SLA clocks) in a worker process "
            "this server starts, restarts and stops; --no-scheduler when a `touchpoint worker` "
            "runs it beside (TOUCHPOINT_SERVER_SCHEDULER)",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port (the scheduler stays one worker process)",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) over an existing data directory, with the
    scheduler in a worker process of its own beside the server's."""
    ensure_port_free(host, port)
    with opened(data_dir) as tp:  # a mistake in the settings stops here, in one line
        scheduled = scheduler and tp.settings.server_scheduler
        _serve(tp, host, port, workers=workers, scheduler=scheduled)


def worker(
    data_dir: DataDir = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(hidden=True, help="Stop when this process (the supervising server) is gone"),
    ] = None,
) -> None:
    """Run the scheduler in this process until Ctrl-C: playbooks, SLA clocks, contact-center
    deadlines and lifecycle ticks, for a server started with `touchpoint serve --no-scheduler`
    (`touchpoint serve` alone starts one itself). It wakes at the earliest due time and when the
    log grows (looked at every TOUCHPOINT_WORKER_POLL_SECONDS, default 0.1 s). Run one worker."""
    import threading

    from touchpoint.cli.supervisor import stopped_by_signals, watch_parent
    from touchpoint.services.scheduler import work

    stop = threading.Event()
    with opened(data_dir) as tp, stopped_by_signals(stop):
        if parent_pid is None:
            where = show.plain(str(tp.settings.data_dir))
            show.console.print(f"Touchpoint worker on {where}: Ctrl-C stops it")
        else:
            watch_parent(parent_pid, stop)
        work(tp, stop=stop)


def ensure_port_free(host: str, port: int) -> None:
    """Refuse, in one line, to serve where something already listens."""
    problem = port_problem(host, port)
    if problem is not None:
        raise Conflict(problem)


def port_problem(host: str, port: int) -> str | None:
    """Why Uvicorn could not serve on host:port, or None: bind the way it will (SO_REUSEADDR,
    IPv6 for a host with a colon) and let go at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "is already in use (another server?)"
        else:
            why = f"cannot be served on ({exc.strerror or exc})"
        return f"{host}:{port} {why}: choose another --port, or add --no-serve"
    return None


def _serve(
    tp: Touchpoint, host: str, port: int, *, workers: int = 1, scheduler: bool = True
) -> None:
    """Uvicorn imports the API by name (the CLI does not import the API), so the served app
    opens the same data directory through the environment. The scheduler runs in a worker
    process this one supervises (`cli.supervisor`), started now that the data directory is open
    (and migrated), stopped when the server stops."""
    import uvicorn

    from touchpoint.cli.supervisor import supervised_worker

    os.environ["TOUCHPOINT_DATA_DIR"] = str(tp.settings.data_dir)
    show.console.print(
        f"Serving Touchpoint on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
    )
    with contextlib.ExitStack() as stack:
        if scheduler:
            stack.enter_context(supervised_worker(tp.settings.data_dir, say=show.errors.print))
        uvicorn.run(
            SERVED_APP,
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            http=SERVED_PROTOCOL,  # header timeout and connection limit (TOUCHPOINT_* settings)
            timeout_keep_alive=tp.settings.keep_alive_seconds,
            access_log=False,  # it logs query strings (an email); the app logs its own lines
            workers=workers,
        )


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
    """Simulate a business (the 18 months up to now, all channels), ingest it, summarise, and
    serve the API.

    Running it again in the same data directory stores nothing twice: it regenerates the first
    run's business and reuses its API keys (their secrets are kept in the data directory's
    demo.json, readable by you only).
    """
    from touchpoint.services.demo import run_demo

    if serve_api:
        ensure_port_free(host, port)  # before minutes of work, not after
    with opened(data_dir, create=True) as tp:
        with _Progress() as progress:
            result = run_demo(
                tp,
                customers=customers,
                seed=seed,
                now=datetime.now(UTC),
                on_step=progress.step,
                on_ingested=progress.ingested,
            )
        taken = port_problem(host, port) if serve_api else None  # taken while the demo ran?
        serving = serve_api and taken is None
        print_demo(
            result,
            api_url=f"http://{host}:{port}" if serving else None,  # never another server's
            data_dir=_data_dir_option(tp.settings.data_dir),
        )
        if taken is not None:
            raise Conflict(taken)
        if serving:
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


def print_demo(result: DemoResult, *, api_url: str | None, data_dir: str = "") -> None:
    """What the demo did and found; `api_url` only when a server is about to answer there,
    `data_dir` the option the next commands need (empty for the default data directory)."""
    report, seconds = result.ingest, result.ingest_seconds
    rate = report.total / seconds if seconds > 0 else 0.0
    show.console.print(
        f"Ingested {report.total:,} interactions in {seconds:.1f} s ({rate:,.0f}/s): "
        f"{report.accepted:,} new, {report.duplicates:,} already stored, "
        f"{len(report.conflicts):,} conflicts, {len(report.rejected):,} rejected."
    )
    _print_period(result)
    show.console.print(
        f"Imported {result.spend.stored:,} rows of campaign spend from {result.spend_file}."
    )
    _print_switchboard(result)
    _print_overview(result.overview)
    stages = result.stages
    show.console.print(show.stage_counts(f"Customers by lifecycle stage ({stages.model})", stages))
    if result.sample is not None:
        show.customer_view(result.sample)
    show.console.print(show.rich_table(result.funnel))
    show.console.print(
        "The lifecycle map (every stage-to-stage flow, losses included): "
        f"{result.lifecycle_map.as_uri()}"
    )
    _print_keys(result, api_url)
    show.console.print(_next_steps(result, api_url, data_dir))


def _print_period(result: DemoResult) -> None:
    start = result.start
    if result.first_run:
        show.console.print(
            f"The business's 18 months run from {show.when(start)} to now "
            f"({show.when(result.end)} UTC); the lifecycle clock stands at now."
        )
        return
    show.console.print(
        f"This data directory's demo business (made by its first run) runs from "
        f"{show.when(start)} to {show.when(result.end)} UTC; nothing was added to it, and the "
        f"lifecycle clock ran on to now ({show.when(result.now)} UTC). For a business that "
        "ends now, use a new --data-dir."
    )


def _print_switchboard(result: DemoResult) -> None:
    run = result.switchboard
    if run is None:
        return
    show.console.print(
        f"The contact center's last {(run.end - run.start).total_seconds() / 3600:.0f} hours "
        f"({show.when(run.start)} to {show.when(run.end)} UTC) ran through the router: "
        f"{run.offered:,} contacts, {run.agents} agents on duty, {run.answered:,} answered, "
        f"{run.abandoned:,} abandoned, {run.callbacks:,} asked to be called back."
    )


def _print_overview(business: BusinessOverview) -> None:
    overview = Table(title="The business", show_header=False)
    overview.add_row("customers", f"{business.customers:,}")
    overview.add_row("profiles merged by identity resolution", f"{business.merged_profiles:,}")
    overview.add_row("purchase revenue", f"{business.purchase_revenue:,.2f}")
    show.console.print(overview)
    total = sum(n for _, n in business.by_channel)  # every interaction has one channel
    show.console.print(_counts("Interactions by channel", "channel", business.by_channel, total))
    show.console.print(_counts("Interactions by type", "type", business.by_type, total))


def _counts(title: str, what: str, counts: tuple[tuple[str, int], ...], total: int) -> Table:
    """The counts given, an "other" row for the rest (the overview lists the top types only)
    and the total, so the rows add up."""
    table = Table(title=title)
    table.add_column(what)
    table.add_column("interactions", justify="right")
    for value, n in counts:
        table.add_row(show.plain(value), f"{n:,}")
    rest = total - sum(n for _, n in counts)
    if rest:
        table.add_row(f"other {what}s", f"{rest:,}")
    table.add_section()
    table.add_row("total", f"{total:,}")
    return table


def _print_keys(result: DemoResult, api_url: str | None) -> None:
    reused = len(result.keys_created) < len(result.keys)
    title = "API keys for this demo" + (" (from an earlier run)" if reused else "")
    table = Table(title=title)
    table.add_column("scope")
    table.add_column("key")
    for scope, secret in result.keys.items():
        table.add_row(scope, secret)
    show.console.print(table)
    show.console.print(
        f"Only their hashes are in the database; the secrets (and the web app user's password) "
        f"are kept for the next run in {result.state_file} (readable by you only)."
    )
    if api_url is not None:
        show.console.print(
            f"Try: curl -H 'Authorization: Bearer {result.keys['read']}' "
            f"'{api_url}/v1/customers?limit=3'"
        )


def _next_steps(result: DemoResult, api_url: str | None, data_dir: str) -> Panel:
    steps = Table.grid(padding=(0, 2))
    steps.add_column(style="bold")
    steps.add_column()
    steps.add_row("Try a report", f"uv run touchpoint report funnel{data_dir}")
    steps.add_row("More reports", "uv run touchpoint report --help")
    steps.add_row("The contact center", f"uv run touchpoint cc live{data_dir}")
    steps.add_row(
        "Its service levels", f"uv run touchpoint report contact-center --by queue{data_dir}"
    )
    if result.sample is not None and result.sample.email:
        email = show.plain(shlex.quote(result.sample.email))
        steps.add_row("One customer", f"uv run touchpoint customer show {email}{data_dir}")
    steps.add_row("Your own data", f"uv run touchpoint import FILE.csv{data_dir}")
    if api_url is not None:
        steps.add_row("The API docs", f"{api_url}/docs (served below; Ctrl+C stops it)")
    else:
        steps.add_row("The API", f"uv run touchpoint serve{data_dir}, docs at /docs")
    where = api_url + "/app/" if api_url else "/app/ on the server"
    if result.user:
        steps.add_row(
            "The web app",
            f"{where}: sign in as {result.user['name']}, password {result.user['password']}",
        )
    else:
        steps.add_row(
            "The web app",
            f"{where}, signed in as a user "
            f"(uv run touchpoint users create NAME --role manager{data_dir})",
        )
    return Panel(steps, title="Next steps", title_align="left", expand=False)


def _data_dir_option(data_dir: Path) -> str:
    """` --data-dir DIR` when the next commands would not find this data directory by default."""
    from touchpoint.settings import Settings

    default = Settings.model_fields["data_dir"].default
    if os.environ.get("TOUCHPOINT_DATA_DIR") or data_dir.resolve() == Path(default).resolve():
        return ""
    return f" --data-dir {shlex.quote(str(data_dir))}"
