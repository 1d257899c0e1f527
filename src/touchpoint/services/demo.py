"""The demo business: keys, a simulated business that ends at the first run's moment ingested
through the real ingestion path, its clock run to now, its campaign spend, and what a newcomer
should see first. The data directory's demo.json (demo/state.py) makes a re-run a no-op.

The work only; `touchpoint demo` (cli/demo.py) shows the progress and prints the result."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection

from touchpoint.demo import switchboard
from touchpoint.demo.state import STATE_FILE, DemoState, read_state, write_state
from touchpoint.errors import AuthError, Conflict, ValidationError
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services import tickets, users
from touchpoint.services.keys import authenticate, create_key
from touchpoint.store import contact_center as cc_store
from touchpoint.store import customers as customer_store
from touchpoint.store import log, overview
from touchpoint.store.engine import read_connection, write_transaction

if TYPE_CHECKING:
    from touchpoint.analytics.reports import ReportResult
    from touchpoint.analytics.spend import SpendImportReport
    from touchpoint.ingest.report import IngestReport
    from touchpoint.runtime import Touchpoint

LIFECYCLE_MAP = "lifecycle-map.html"
SPEND_FILE = "demo-campaign-spend.csv"  # the sample's spend moved to the demo's months
MONTHS = 18  # of business, up to its end
DEMO_KEY_SCOPES = ("ingest", "read", "admin")  # one key each, printed for trying the API
DEMO_USER = "demo"  # the web app's user, a manager, printed with its password
FIRST_ID = "demo-0-1"  # the first interaction of the first person: the log holds a demo

DemoStep = Literal["ingest", "clock", "spend", "center", "switchboard", "summary", "analytics"]


@dataclass(frozen=True)
class DemoResult:
    keys: Mapping[str, str]  # scope -> secret (only the hashes are in the database)
    keys_created: tuple[str, ...]  # the scopes whose key this run created; the rest were reused
    user: Mapping[str, str]  # the web app's demo user: name, password (only its hash is stored)
    state_file: Path  # where the keys' secrets and the business's end are kept for the next run
    start: datetime  # the business's first moment: 18 months before its end
    end: datetime  # the business's 18 months end here: the moment of the first run
    now: datetime  # this run's moment; the lifecycle clock and the reports stand here
    ingest: IngestReport
    ingest_seconds: float
    spend_file: Path
    spend: SpendImportReport
    overview: overview.BusinessOverview
    stages: lifecycle_service.LifecycleSummary
    sample: customer_service.CustomerView | None  # a customer identity resolution merged
    funnel: ReportResult
    lifecycle_map: Path  # the transitions' Sankey, one self-contained HTML file
    switchboard: (
        switchboard.SwitchboardRun | None
    )  # the last hours through the router (None: ran before)

    @property
    def first_run(self) -> bool:
        return self.end == self.now


def run_demo(
    tp: Touchpoint,
    *,
    customers: int,
    seed: int,
    now: datetime,
    on_step: Callable[[DemoStep], None] | None = None,
    on_ingested: Callable[[int], None] | None = None,
) -> DemoResult:
    """Simulate `customers` people over the 18 months before `now` (all channels) with `seed`
    and ingest them, with the lifecycle clock run to `now`. A later run in the same data
    directory regenerates the first run's business (its end is kept in the state file) and
    reuses its API keys, so it stores nothing twice. `on_step` hears each step as it starts,
    `on_ingested` how many interactions each ingested batch held."""
    if customers < 1:
        raise ValidationError(f"customers must be at least 1, not {customers}")
    if now.tzinfo is None:
        raise ValidationError("now must be timezone-aware")
    now = now.astimezone(UTC).replace(microsecond=0)  # the log keeps whole seconds
    # Imported here: the simulation (Faker) and the analytics (Ibis, DuckDB, Plotly) are heavy,
    # and `touchpoint spend --help` reads DEMO_SPEND from this package.
    from touchpoint.analytics.spend import import_spend
    from touchpoint.demo.generator import generate_interactions, months_before
    from touchpoint.demo.spend import write_demo_spend

    step = on_step or (lambda _step: None)
    data_dir = tp.settings.data_dir
    state_file = data_dir / STATE_FILE
    earlier = read_state(state_file)
    with write_transaction(tp.engine) as conn:
        end = _business_end(conn, earlier, seed=seed, now=now)
        keys, created = _demo_keys(conn, earlier)
        user = _demo_user(conn, earlier)
    # before a long ingest
    write_state(state_file, DemoState(end=end, seed=seed, keys=keys, user=user))
    step("ingest")
    started = time.perf_counter()
    events = enumerate(generate_interactions(customers, seed=seed, end=end, months=MONTHS))
    report = tp.ingestor.ingest(events, keep_results=False, on_progress=on_ingested)
    seconds = time.perf_counter() - started
    step("clock")
    tp.projections.tick(now)  # inactivity windows run to now, as reports and `tick` see it
    step("spend")
    spend_file = write_demo_spend(data_dir / SPEND_FILE, end=end)
    spend = import_spend(tp.engine, spend_file)  # the campaigns' costs, for CAC and ROI
    step("center")
    _demo_center(tp, seed)
    step("switchboard")
    switchboard = _demo_switchboard(tp, seed, end)
    # the tickets the log names, linked now rather than by the first page that shows tickets
    tickets.catch_up(tp, now=now)
    _demo_campaign(tp, now)
    step("summary")
    with read_connection(tp.engine) as conn:
        business = overview.business_overview(conn)
        stages = lifecycle_service.summary(conn)
        sample_id = _sample_customer(conn)
        sample = customer_service.customer_view(conn, sample_id, limit=8) if sample_id else None
    step("analytics")
    funnel, lifecycle_map = _funnel_and_map(tp, now)
    return DemoResult(
        keys=keys,
        keys_created=created,
        user=user,
        state_file=state_file,
        start=months_before(end, MONTHS),
        end=end,
        now=now,
        ingest=report,
        ingest_seconds=seconds,
        spend_file=spend_file,
        spend=spend,
        overview=business,
        stages=stages,
        sample=sample,
        funnel=funnel,
        lifecycle_map=lifecycle_map,
        switchboard=switchboard,
    )


def _demo_center(tp: Touchpoint, seed: int) -> None:
    """The demo's contact center configured (queues, its agents, lifecycle-aware rules), unless
    this configuration is in force already."""
    from touchpoint.demo.generator import center_config
    from touchpoint.services import contact_center

    document = center_config(seed)
    with read_connection(tp.engine) as conn:
        latest = cc_store.latest_config(conn)
    if latest is not None and latest[1] == contact_center.normalised(document):
        return
    contact_center.apply_config(tp, document=document, actor="demo")


WIN_BACK = "Win back the at-risk"  # the demo's outbound campaign (once per data directory)


def _demo_campaign(tp: Touchpoint, now: datetime) -> None:
    """An outbound campaign to call the customers at risk through the retention queue (the
    seeds' "win back the lapsing"), made once (a later run finds it by its name) and paused:
    a manager starts it (`touchpoint cc campaign pause NAME --resume`, the API)."""
    from touchpoint.services import outbound

    if any(c.name == WIN_BACK for c in outbound.campaigns(tp)):
        return
    outbound.create_campaign(
        tp,
        name=WIN_BACK,
        queue="retention",
        settings={},
        source={"kind": "stage", "stage": "at_risk"},
        actor="demo",
        now=now,
    )
    outbound.set_status(tp, WIN_BACK, "paused")


def _demo_switchboard(
    tp: Touchpoint, seed: int, end: datetime
) -> switchboard.SwitchboardRun | None:
    """The business's last hours at its contact center, driven through the router (once per
    data directory: a later run finds its contacts there), then written to the log."""
    from touchpoint.services import contact_center

    with read_connection(tp.engine) as conn:
        if switchboard.already_ran(conn, seed):
            return None
        _version, config = contact_center.current_config(conn)
        callers = _callers(conn, seed, default_region=tp.settings.default_region)
    if not callers:
        return None
    ran = switchboard.run(tp.engine, config, callers, end=end, seed=seed)
    while contact_center.flush_log(tp):
        pass
    return ran


def _callers(conn: Connection, seed: int, *, default_region: str) -> list[switchboard.Caller]:
    """Up to 400 of the business's customers, each by a phone number or an email address, as the
    router would know them when they get in touch."""
    from touchpoint.services import contact_center

    _total, ids = customer_store.list_ids(conn, limit=4_000, offset=0)
    rng = Random(seed)
    callers: list[switchboard.Caller] = []
    for customer_id in rng.sample(ids, min(400, len(ids))):
        keys = [row["key"] for row in customer_store.identities_of(conn, customer_id)]
        identity = _identity(keys)
        if identity is None:
            continue
        found, facts = contact_center.facts_for(conn, identity, default_region=default_region)
        callers.append(switchboard.Caller(identity=identity, customer_id=found, facts=facts))
    return callers


def _identity(keys: list[str]) -> dict[str, str] | None:
    for kind in ("phone", "email"):
        for key in keys:
            if key.startswith(kind + ":"):
                return {kind: key.split(":", 1)[1]}
    return None


def _business_end(
    conn: Connection, state: DemoState | None, *, seed: int, now: datetime
) -> datetime:
    """When the business's 18 months end: `now` for a new demo, the first run's moment for a
    data directory that holds one already (its ids are idempotency keys: a business moved in time
    would carry the same ids with other content)."""
    if not log.existing_ids(conn, [FIRST_ID]):
        return now
    if state is None:
        raise Conflict(
            f"this data directory holds demo data but no {STATE_FILE} saying when its business "
            "ends (made by an older Touchpoint, or the file was deleted): use a new --data-dir"
        )
    if state.seed != seed:
        raise Conflict(
            f"this data directory holds the demo business of seed {state.seed}: run it again "
            f"with --seed {state.seed}, or use a new --data-dir for seed {seed}"
        )
    return state.end


def _demo_keys(conn: Connection, state: DemoState | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """One key per scope: an earlier run's if it still works, else a new one."""
    kept = state.keys if state else {}
    keys: dict[str, str] = {}
    created: list[str] = []
    for scope in DEMO_KEY_SCOPES:
        secret = kept.get(scope)
        if secret is None or not _works(conn, secret, scope):
            secret = create_key(conn, scope=scope, name="demo")[1]
            created.append(scope)
        keys[scope] = secret
    return keys, tuple(created)


def _demo_user(conn: Connection, state: DemoState | None) -> dict[str, str]:
    """The web app's demo user (a manager): an earlier run's if its password still works, else
    one made now (or, if someone changed its password, given a new one)."""
    kept = state.user if state else {}
    name, password = kept.get("name", DEMO_USER), kept.get("password", "")
    try:
        users.verify(conn, name, password)
        return {"name": name, "password": password}
    except AuthError:
        pass
    try:
        _user, password = users.create_user(conn, name=name, role="manager", created_by="demo")
    except Conflict:  # the name is taken: a password changed since, or a user of the same name
        try:
            _user, password = users.set_password(conn, name, actor="demo")
        except Conflict:  # disabled by an admin: the demo makes no other
            return {}
    return {"name": name, "password": password}


def _works(conn: Connection, secret: str, scope: str) -> bool:
    try:
        return authenticate(conn, secret).scope == scope
    except AuthError:  # revoked, or made for a database since deleted
        return False


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
