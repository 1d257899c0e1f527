"""The pages: each reads through a service (the same calls as the API's) and renders a template;
the htmx fragments (a period's KPI table, the wallboard's live picture) and the wallboard's
event stream are routes of their own."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from touchpoint.analytics import plots, transitions
from touchpoint.analytics.output import to_csv
from touchpoint.analytics.reports import CustomerFilter, ReportResult
from touchpoint.analytics.service import (
    make_request,
    report_spec,
    run_query,
    run_report,
    run_reports,
)
from touchpoint.analytics.transitions import START
from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain.flows import flow_kind
from touchpoint.domain.reach import CHANNEL_GROUPS, DIRECT
from touchpoint.errors import Conflict, Forbidden, NotFound, ValidationError
from touchpoint.services import contact_center as cc
from touchpoint.services import customers as customer_service
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.services import segments
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import PERIOD_LABELS, chart, page, period_start

router = APIRouter()

Period = Annotated[str, Query(description="7d, 30d, 90d, 365d or all")]


@router.get("/", include_in_schema=False)
def home(_who: Annotated[Principal, signed_in("lifecycle.read")]) -> RedirectResponse:
    return RedirectResponse("/app/overview", status_code=303)


def _report(
    request: Request,
    name: str,
    period: str,
    by: str | None = None,
    only: CustomerFilter | None = None,
) -> ReportResult:
    (result,) = _reports(request, [name], period, by=by, only=only)
    return result


def _reports(
    request: Request,
    names: list[str],
    period: str,
    by: str | None = None,
    only: CustomerFilter | None = None,
) -> list[ReportResult]:
    """The reports `names` for the same period and filters, on one opening of the copy."""
    start = period_start(period)
    asked = [(n, make_request(report_spec(n), start=start, by=by, only=only)) for n in names]
    return run_reports(touchpoint_of(request).settings, asked)


# The reach channels a map may be filtered by: the first touch's channel group (domain.reach).
CHANNELS = (*dict.fromkeys(CHANNEL_GROUPS.values()), DIRECT, "Other")
Channel = Annotated[str | None, Query(max_length=40, description="first touch's reach channel")]
Campaign = Annotated[str | None, Query(max_length=200, description="first campaign touched")]
SegmentKey = Annotated[str | None, Query(max_length=200, description="a saved segment's members")]


@dataclass(frozen=True)
class MapFilter:
    """The lifecycle map's filters as the address names them (empty: not filtered)."""

    period: str = "all"
    channel: str = ""
    campaign: str = ""
    segment: str = ""

    def query(self, **more: str) -> str:
        """The filters (and `more`) as a query string, the empty ones left out."""
        values = dataclasses.asdict(self) | more
        return urlencode({k: v for k, v in values.items() if v})


def map_filter(
    period: str, channel: str | None, campaign: str | None, segment: str | None
) -> MapFilter:
    """The filters checked: a known period and channel (422 naming the choices otherwise)."""
    period_start(period)  # an unknown period is refused before any work
    chosen = MapFilter(period, (channel or "").strip(), (campaign or "").strip())
    if chosen.channel and chosen.channel not in CHANNELS:
        raise ValidationError(
            f"channel: unknown channel {chosen.channel!r}; allowed: {', '.join(CHANNELS)}"
        )
    return dataclasses.replace(chosen, segment=(segment or "").strip())


def customer_filter(request: Request, chosen: MapFilter) -> CustomerFilter | None:
    """The reports' filter for the map's: the channel, the campaign, and a saved segment's
    members now (404 for an unknown segment)."""
    if not (chosen.channel or chosen.campaign or chosen.segment):
        return None
    members: set[str] | None = None
    if chosen.segment:
        tp, members, after = touchpoint_of(request), set(), None
        while True:  # every member, a page at a time (ids only)
            found = segments.members(
                tp, chosen.segment, after=after, limit=segments.MAX_PAGE, contact_details=False
            )
            members |= {m.customer_id for m in found.items}
            if (after := found.next_after) is None:
                break
    return CustomerFilter(
        channel=chosen.channel or None,
        campaign=chosen.campaign or None,
        members=None if members is None else frozenset(members),
    )


def _flow_rows(moves: ReportResult) -> list[dict[str, Any]]:
    """The map's links as table rows: each with its share of the moves out of its stage and
    what the move means (domain.flows, from the model in force)."""
    rows = moves.table.to_pylist()
    kinds = plots.overlay_kinds_of(moves)
    out: dict[str, int] = {}
    for r in rows:
        out[r["from_stage"]] = out.get(r["from_stage"], 0) + r["transitions"]
    return [
        r
        | {"rate": r["transitions"] / out[r["from_stage"]]}
        | {"kind": flow_kind(kinds, r["from_stage"], r["to_stage"])}
        for r in rows
    ]


@router.get("/lifecycle", response_class=HTMLResponse)
def lifecycle(
    request: Request,
    who: Annotated[Principal, signed_in("lifecycle.read")],
    period: Period = "all",
    channel: Channel = None,
    campaign: Campaign = None,
    segment: SegmentKey = None,
) -> HTMLResponse:
    """Customers per stage now; for a role that reads analytics, the lifecycle map (the
    transitions of the period as a Sankey), the funnel with its drop-offs and the time in each
    stage, all filtered by the first touch's channel, the first campaign and a saved segment."""
    chosen = map_filter(period, channel, campaign, segment)
    with read_connection(touchpoint_of(request).engine) as conn:
        summary = lifecycle_service.summary(conn)
    values: dict[str, Any] = {"summary": summary, "periods": PERIOD_LABELS, "f": chosen}
    values["period"] = chosen.period
    values["sankey"] = None
    if who.may("analytics.read"):
        only = customer_filter(request, chosen)
        moves, funnel, stays = _reports(
            request, ["transitions", "funnel", "time-in-stage"], period, only=only
        )
        values |= {
            "sankey": chart(plots.sankey(moves), "lifecycle-map"),
            "moves": _flow_rows(moves),
            "funnel": chart(plots.funnel(funnel), "funnel"),
            "funnel_rows": funnel.table.to_pylist(),
            "stays_chart": chart(plots.box_percentiles(stays), "time-in-stage"),
            "stays": stays.table.to_pylist(),
            "channels": CHANNELS,
            "segments": segments.list_segments(touchpoint_of(request)),
            "start": START,
        }
    return page(request, "lifecycle.html", who, **values)


FLOW_SHOWN = 200  # customers listed for a flow (the count above is all of them)


@router.get("/lifecycle/customers", response_class=HTMLResponse)
def flow_customers(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    to: Annotated[str, Query(max_length=100, description="the stage moved into")],
    from_: Annotated[
        str | None, Query(alias="from", max_length=100, description="the stage left")
    ] = None,
    period: Period = "all",
    channel: Channel = None,
    campaign: Campaign = None,
    segment: SegmentKey = None,
) -> HTMLResponse:
    """The customers behind one flow of the lifecycle map (`from` -> `to`) or one stage (`to`
    alone: every move into it) in the map's period and filters, newest move first;
    pseudonymised (ids and stage) for a role without contact details."""
    chosen = map_filter(period, channel, campaign, segment)
    tp = touchpoint_of(request)
    with read_connection(tp.engine) as conn:
        known = {START, *lifecycle_service.model_in_force(conn).all_stages}
    for field, stage in (("from", from_), ("to", to)):
        if stage is not None and stage not in known:
            raise ValidationError(
                f"{field}: unknown stage {stage!r}; the model has: " + ", ".join(sorted(known))
            )
    made = make_request(
        report_spec("transitions"),
        start=period_start(period),
        only=customer_filter(request, chosen),
    )
    table = run_query(
        tp.settings,
        lambda sources: transitions.flow_customers(sources, made, from_stage=from_, to_stage=to),
    )
    rows = table.to_pylist()
    shown = []
    with read_connection(tp.engine) as conn:
        for row in rows[:FLOW_SHOWN]:
            try:
                person = customer_service.summary(conn, row["customer_id"])
            except NotFound:  # merged away since the columnar copy was brought up to date
                continue
            if not who.sees_contact_details:
                person = customer_service.pseudonymised(person)
            shown.append((row, person))
    return page(
        request,
        "flow_customers.html",
        who,
        f=chosen,
        from_stage=from_,
        to_stage=to,
        total=len(rows),
        moves=sum(r["moves"] for r in rows),
        shown=shown,
        may_open=who.may("customers.read"),
        period_label=PERIOD_LABELS[chosen.period],
    )


def _kpi_values(request: Request, period: str) -> dict[str, Any]:
    result = _report(request, "contact-center", period, by="queue")
    rows = result.table.to_pylist()
    return {
        "rows": rows,
        "notes": result.notes,
        "period": period,
        "periods": PERIOD_LABELS,
        "figure": chart(charts.queue_service_levels(rows), "kpi-chart"),
    }


@router.get("/kpis", response_class=HTMLResponse)
def kpis(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "30d",
) -> HTMLResponse:
    """The contact-center report per queue: service level (SL, SL2), ASA, AHT, abandonment."""
    return page(request, "kpis.html", who, **_kpi_values(request, period))


@router.get("/kpis/table", response_class=HTMLResponse)
def kpi_table(
    request: Request,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "30d",
) -> HTMLResponse:
    """The KPI table of a period, the fragment the period picker swaps in; the page's address
    then names the period, so it can be shared."""
    pushed = {"HX-Push-Url": f"/app/kpis?period={period}"}
    return page(request, "_kpi_table.html", who, headers=pushed, **_kpi_values(request, period))


# The tables a page downloads as CSV: the report behind it, and its default breakdown.
DOWNLOADS = {
    "transitions": None,
    "funnel": None,
    "time-in-stage": None,
    "contact-center": "queue",
    "cohorts": None,
    "composition": None,
    "churn": None,
    "at-risk": None,
    "clv": None,
    "attribution": "channel",
}


FILTERED = ("transitions", "funnel", "time-in-stage")  # the reports honouring a CustomerFilter


@router.get("/data/{report}.csv", response_class=Response)
def download(
    request: Request,
    report: str,
    who: Annotated[Principal, signed_in("analytics.read")],
    period: Period = "all",
    by: Annotated[str | None, Query(max_length=20)] = None,
    interval: Annotated[str, Query(max_length=10)] = "month",
    channel: Channel = None,
    campaign: Campaign = None,
    segment: SegmentKey = None,
) -> Response:
    """A page's table as CSV, the same rows as `touchpoint report NAME --format csv` (without
    names, emails and phones for a role that does not see contact details); the lifecycle
    map's tables with the map's filters."""
    if report not in DOWNLOADS:
        raise NotFound(f"no table {report!r} to download; there are: {', '.join(DOWNLOADS)}")
    chosen = map_filter(period, channel, campaign, segment)
    only = customer_filter(request, chosen)
    if only is not None and report not in FILTERED:
        raise ValidationError(
            f"channel, campaign and segment filter only the lifecycle map's tables "
            f"({', '.join(FILTERED)}), not {report!r}"
        )
    tp = touchpoint_of(request)
    spec = report_spec(report)
    made = make_request(
        spec, start=period_start(period), by=by or DOWNLOADS[report], interval=interval, only=only
    )
    result = run_report(tp.settings, report, made)
    if not who.sees_contact_details:
        hidden = [c for c in ("name", "email", "phone") if c in result.table.column_names]
        result = dataclasses.replace(result, table=result.table.drop_columns(hidden))
    name = f"touchpoint-{report}-{period}.csv"
    return Response(
        to_csv(result),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# The order agents are listed in: those taking contacts first, those logged out last.
STATE_ORDER = ("busy", "ready", "wrap_up", "not_ready", "logged_out")
Queue = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _center(request: Request) -> CenterConfig | None:
    with read_connection(touchpoint_of(request).engine) as conn:
        try:
            return cc.current_config(conn)[1]
        except Conflict:  # no configuration yet
            return None


def queues_of(config: CenterConfig | None, who: Principal) -> set[str] | None:
    """The queues a user may watch: an agent's own (those of the center's agent whose `user` is
    their name; none if no agent is theirs), everyone else's all (None)."""
    if who.role != "agent":
        return None
    if config is None:
        return set()
    return {q for spec in config.agents.values() if spec.user == who.name for q in spec.queues}


def _wallboard_values(
    request: Request, who: Principal, queue: str | None, board: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The wallboard's picture as a user may see it (`board`: one already read, else now)."""
    config = _center(request)
    allowed = queues_of(config, who)
    if queue is not None and allowed is not None and queue not in allowed:
        mine = ", ".join(sorted(allowed)) or "none: no agent of the center is yours"
        raise Forbidden(
            f"{who.actor} is an agent and sees only their own queues ({mine}), not {queue!r}"
        )
    try:
        board = board if board is not None else cc.wallboard(touchpoint_of(request))
    except Conflict as exc:  # no configuration yet
        return {"board": None, "problem": str(exc), "agents": [], "states": [], "queue": queue}
    shown = {queue} if queue is not None else allowed
    if shown is not None:
        board = board | {"queues": [q for q in board["queues"] if q["queue"] in shown]}
        serving = {
            agent_id
            for agent_id, spec in (config.agents if config else {}).items()
            if shown & set(spec.queues)
        }
        board["agents"] = [a for a in board["agents"] if a["agent"] in serving]

    def rank(state: str) -> int:
        return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)

    agents = sorted(board["agents"], key=lambda a: (rank(a["state"]), a["agent"]))
    counts: dict[str, int] = {}
    for agent in agents:
        counts[agent["state"]] = counts.get(agent["state"], 0) + 1
    return {
        "board": board,
        "problem": None,
        "agents": agents,
        "states": list(counts.items()),
        "queue": queue,
        "scoped": allowed is not None,
    }


@router.get("/wallboard", response_class=HTMLResponse)
def wallboard(
    request: Request, who: Annotated[Principal, signed_in("cc.read")], queue: Queue = None
) -> HTMLResponse:
    """Queues (waiting, longest wait, agents by state, today's SL) and agents, brought up to
    date by the page's event stream (polled every two seconds while the stream is down); an
    agent sees their own queues only."""
    return page(request, "wallboard.html", who, **_wallboard_values(request, who, queue))


@router.get("/wallboard/live", response_class=HTMLResponse)
def wallboard_live(
    request: Request, who: Annotated[Principal, signed_in("cc.read")], queue: Queue = None
) -> HTMLResponse:
    return page(request, "_wallboard.html", who, **_wallboard_values(request, who, queue))


STREAM_LOOK_S = 1.0  # how often the stream reads the picture (as the API's stream by default)
STREAM_REFRESH_S = 5.0  # an unchanged picture is still sent this often (its waits grow)
STREAM_LIFETIME_S = 300.0  # then it ends; the browser reconnects, and is signed in again


@router.get("/wallboard/stream", response_class=EventSourceResponse)
async def wallboard_stream(
    request: Request, who: Annotated[Principal, signed_in("cc.read")], queue: Queue = None
) -> EventSourceResponse:
    """The wallboard fragment as Server-Sent Events (`board`, HTML): one at once, then one
    whenever the picture changes (`services.contact_center.wallboard_changed`, the API
    stream's rule) or every 5 s; it ends after 5 minutes so the browser's reconnection checks
    the session again. A queue the user may not see is refused before the stream starts."""
    tp = touchpoint_of(request)

    def read() -> tuple[dict[str, Any] | None, str]:
        try:
            board: dict[str, Any] | None = cc.wallboard(tp)
        except Conflict:
            board = None
        values = _wallboard_values(request, who, queue, board)
        html = page(request, "_wallboard.html", who, **values).body
        return board, bytes(html).decode()

    first = await anyio.to_thread.run_sync(read)  # a 403 before any stream

    async def events() -> AsyncIterator[ServerSentEvent]:
        shown, html = first
        yield ServerSentEvent(data=html, event="board")
        start = sent = time.monotonic()
        while time.monotonic() - start < STREAM_LIFETIME_S:
            await anyio.sleep(STREAM_LOOK_S)
            if await request.is_disconnected():
                return
            board, html = await anyio.to_thread.run_sync(read)
            stale = time.monotonic() - sent >= STREAM_REFRESH_S
            moved = (board is None) != (shown is None) or (
                board is not None and shown is not None and cc.wallboard_changed(shown, board)
            )
            if moved or stale:
                shown, sent = board, time.monotonic()
                yield ServerSentEvent(data=html, event="board")

    return EventSourceResponse(events(), ping=15)
