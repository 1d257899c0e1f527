"""`touchpoint demo`: ingest a simulated business through the real ingestion path and summarise it."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, func, select

from touchpoint import console as show
from touchpoint.analytics.spend import import_spend
from touchpoint.demo.generator import generate_interactions
from touchpoint.lifecycle.tick import tick
from touchpoint.runtime import Touchpoint
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services.keys import SCOPES, create_key
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import customers, interactions, merges

DEMO_SPEND = Path(__file__).with_name("campaign_spend.csv")
LIFECYCLE_MAP = "lifecycle-map.html"


def run_demo(tp: Touchpoint, *, customers: int, seed: int, api_url: str) -> dict[str, str]:
    """Create keys, ingest the simulated interactions, print a summary; returns the keys."""
    with write_transaction(tp.engine) as conn:
        keys = {scope: create_key(conn, scope=scope, name="demo")[1] for scope in SCOPES}
    columns = (
        SpinnerColumn(),
        TextColumn("ingesting demo interactions"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=show.errors, transient=True) as progress:
        task = progress.add_task("demo", total=None)
        events = enumerate(generate_interactions(customers, seed=seed))
        report = tp.ingestor.ingest(
            events, keep_results=False, on_progress=lambda n: progress.advance(task, n)
        )
    seconds = time.perf_counter() - started
    show.console.print(
        f"Ingested {report.total:,} interactions in {seconds:.1f} s ({report.total / seconds:,.0f}/s): "
        f"{report.accepted:,} new, {report.duplicates:,} already stored, {len(report.rejected):,} rejected."
    )
    with read_connection(tp.engine) as conn:
        last = conn.scalar(select(func.max(interactions.c.occurred_at)))
    if last is not None:
        tick(tp.engine, last)  # let inactivity windows run up to the simulation's end
    spend = import_spend(tp.engine, DEMO_SPEND)  # the campaigns' costs, for CAC and ROI
    show.console.print(f"Imported {spend.stored:,} rows of campaign spend from {DEMO_SPEND.name}.")
    with read_connection(tp.engine) as conn:
        _print_summary(conn)
        stages = lifecycle_service.summary(conn)
        show.console.print(
            show.stage_counts(
                f"Customers by lifecycle stage ({stages['model']})",
                [(s["stage"], s["customers"]) for s in stages["stages"]],
            )
        )
        sample = _sample_customer(conn)
        if sample:
            show.customer_view(customer_service.customer_view(conn, sample, limit=8))
    _print_lifecycle_map(tp, last)
    _print_keys(keys, api_url)
    return keys


def _print_lifecycle_map(tp: Touchpoint, at: datetime | None) -> None:
    """The funnel as a table and the lifecycle map (the transitions' Sankey) as an HTML file: where
    the simulated customers move on and where they are lost."""
    from touchpoint.analytics.output import rich_table
    from touchpoint.analytics.plots import write_plot
    from touchpoint.analytics.service import make_request, report_spec, run_report

    with show.errors.status("building the analytics copy and the lifecycle map"):
        funnel = run_report(tp.settings, "funnel", make_request(report_spec("funnel"), at=at))
        spec = report_spec("transitions")
        flows = run_report(tp.settings, spec.name, make_request(spec, at=at))
        map_path = (tp.settings.data_dir / LIFECYCLE_MAP).resolve()
        write_plot(spec.plot(flows), map_path)
    show.console.print(rich_table(funnel))
    show.console.print(
        f"The lifecycle map (every stage-to-stage flow, losses included): {map_path.as_uri()}\n"
        "More: touchpoint report --help (cohorts, churn, clv, attribution, kpis, …)"
    )


def _print_summary(conn: Connection) -> None:
    live = conn.scalar(
        select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
    )
    merged = conn.scalar(select(func.count()).select_from(merges))
    revenue = conn.scalar(
        select(func.coalesce(func.sum(interactions.c.revenue), 0)).where(
            interactions.c.type == "purchase"
        )
    )
    overview = Table(title="The business", show_header=False)
    overview.add_row("customers", f"{live:,}")
    overview.add_row("profiles merged by identity resolution", f"{merged:,}")
    overview.add_row("purchase revenue", f"{revenue:,.2f}")
    show.console.print(overview)
    show.console.print(_counts(conn, interactions.c.channel, "Interactions by channel"))
    show.console.print(_counts(conn, interactions.c.type, "Interactions by type", limit=12))


def _counts(conn: Connection, column: Any, title: str, limit: int | None = None) -> Table:
    query = (
        select(column, func.count().label("n"))
        .group_by(column)
        .order_by(func.count().desc())
        .limit(limit)
    )
    table = Table(title=title)
    table.add_column(column.name)
    table.add_column("interactions", justify="right")
    for value, n in conn.execute(query).all():
        table.add_row(str(value), f"{n:,}")
    return table


def _sample_customer(conn: Connection) -> str | None:
    """A customer whose profile shows identity resolution at work, if there is one."""
    survivor = conn.scalar(select(merges.c.survivor_id).order_by(merges.c.seq).limit(1))
    if survivor:
        return customer_service.current_id(conn, survivor)
    return conn.scalar(select(customers.c.id).where(customers.c.merged_into.is_(None)).limit(1))


def _print_keys(keys: dict[str, str], api_url: str) -> None:
    table = Table(title="API keys created for this demo (shown once)")
    table.add_column("scope")
    table.add_column("key")
    for scope, secret in keys.items():
        table.add_row(scope, secret)
    show.console.print(table)
    show.console.print(
        f"Try: curl -H 'Authorization: Bearer {keys['read']}' '{api_url}/v1/customers?limit=3'"
    )
