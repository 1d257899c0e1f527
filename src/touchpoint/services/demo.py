"""The demo business: create keys, ingest a simulated business through the real ingestion path,
let its clock run, import its campaign spend, and gather what a newcomer should see first.

The work only; `touchpoint demo` (cli/demo.py) shows the progress and prints the result."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection

from touchpoint.demo import DEMO_SPEND
from touchpoint.errors import ValidationError
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services.keys import SCOPES, create_key
from touchpoint.store import overview
from touchpoint.store.engine import read_connection, write_transaction

if TYPE_CHECKING:
    from touchpoint.analytics.reports import ReportResult
    from touchpoint.analytics.spend import SpendImportReport
    from touchpoint.ingest.report import IngestReport
    from touchpoint.runtime import Touchpoint

LIFECYCLE_MAP = "lifecycle-map.html"

DemoStep = Literal["ingest", "clock", "spend", "summary", "analytics"]


@dataclass(frozen=True)
class DemoResult:
    keys: Mapping[str, str]  # scope -> secret, shown once (only the hashes are stored)
    ingest: IngestReport
    ingest_seconds: float
    spend_file: Path
    spend: SpendImportReport
    overview: overview.BusinessOverview
    stages: lifecycle_service.LifecycleSummary
    sample: customer_service.CustomerView | None  # a customer identity resolution merged
    funnel: ReportResult
    lifecycle_map: Path  # the transitions' Sankey, one self-contained HTML file


def run_demo(
    tp: Touchpoint,
    *,
    customers: int,
    seed: int,
    on_step: Callable[[DemoStep], None] | None = None,
    on_ingested: Callable[[int], None] | None = None,
) -> DemoResult:
    """Simulate `customers` people (~18 months, all channels) with `seed` and ingest them; a
    second run with the same seed stores nothing twice. `on_step` hears each step as it starts,
    `on_ingested` how many interactions each ingested batch held."""
    if customers < 1:
        raise ValidationError(f"customers must be at least 1, not {customers}")
    # Imported here: the simulation (Faker) and the analytics (Ibis, DuckDB, Plotly) are heavy,
    # and `touchpoint spend --help` reads DEMO_SPEND from this module.
    from touchpoint.analytics.spend import import_spend
    from touchpoint.demo.generator import generate_interactions

    step = on_step or (lambda _step: None)
    with write_transaction(tp.engine) as conn:
        keys = {scope: create_key(conn, scope=scope, name="demo")[1] for scope in SCOPES}
    step("ingest")
    started = time.perf_counter()
    events = enumerate(generate_interactions(customers, seed=seed))
    report = tp.ingestor.ingest(events, keep_results=False, on_progress=on_ingested)
    seconds = time.perf_counter() - started
    step("clock")
    with read_connection(tp.engine) as conn:
        last = overview.last_occurred_at(conn)
    if last is not None:
        tp.projections.tick(last)  # let inactivity windows run up to the simulation's end
    step("spend")
    spend = import_spend(tp.engine, DEMO_SPEND)  # the campaigns' costs, for CAC and ROI
    step("summary")
    with read_connection(tp.engine) as conn:
        business = overview.business_overview(conn)
        stages = lifecycle_service.summary(conn)
        sample_id = _sample_customer(conn)
        sample = customer_service.customer_view(conn, sample_id, limit=8) if sample_id else None
    step("analytics")
    funnel, lifecycle_map = _funnel_and_map(tp, last)
    return DemoResult(
        keys=keys,
        ingest=report,
        ingest_seconds=seconds,
        spend_file=DEMO_SPEND,
        spend=spend,
        overview=business,
        stages=stages,
        sample=sample,
        funnel=funnel,
        lifecycle_map=lifecycle_map,
    )


def _sample_customer(conn: Connection) -> str | None:
    """A customer whose profile shows identity resolution at work, if there is one."""
    survivor = overview.first_merge_survivor(conn)
    if survivor:
        return customer_service.current_id(conn, survivor)
    return overview.any_live_customer(conn)


def _funnel_and_map(tp: Touchpoint, at: datetime | None) -> tuple[ReportResult, Path]:
    """The funnel, and the lifecycle map (every stage-to-stage flow, losses included) as HTML."""
    from touchpoint.analytics.plots import write_plot
    from touchpoint.analytics.service import make_request, report_spec, run_report

    funnel = run_report(tp.settings, "funnel", make_request(report_spec("funnel"), at=at))
    spec = report_spec("transitions")
    flows = run_report(tp.settings, spec.name, make_request(spec, at=at))
    map_path = (tp.settings.data_dir / LIFECYCLE_MAP).resolve()
    write_plot(spec.plot(flows), map_path)
    return funnel, map_path
