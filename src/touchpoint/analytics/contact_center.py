"""Contact-center KPIs for any period, per queue (the default), team, agent, channel or the
customer's lifecycle stage at the contact's time.

Live contacts (inbound calls and chats, as `service-levels` counts them): offered, answered,
abandoned (short abandons, under 5 s, counted apart and still abandons), the service level both
ways Asterisk's app_queue reports it — SL = answered within the threshold / answered, SL2 =
(answered within + abandoned within) / (answered + abandoned) — against each queue's threshold
(the seconds of its configured target, "80/20" -> 20 s, else 20 s), the average speed of answer,
the average handle time, transfers, callbacks requested and kept (the agent's outbound call back
is in the log) and first-contact resolution where agents recorded it.

The terms are domain/contact_center.py's, the same for every report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    NONE_LABEL,
    abandoned,
    answered,
    fcr_flag,
    handle_time,
    in_period,
    live_contact,
    ratio,
    to_arrow,
    until_now,
    wait,
    window_index,
)
from touchpoint.analytics.output import detail_field
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain import contact_center as cc
from touchpoint.domain import sla
from touchpoint.settings import Settings

TOTAL = "(total)"
DEFAULT_BY = "queue"

# What each row adds up, per contact, before its rates are computed (so a total or a team is
# the sum of its contacts, never an average of rates).
_COUNTS = (
    "offered",
    "answered",
    "answered_within",
    "abandoned",
    "abandoned_within",
    "short_abandoned",
    "wait_sum",
    "wait_n",
    "handle_sum",
    "handle_n",
    "talk_sum",
    "hold_sum",
    "hold_n",
    "wrapup_sum",
    "wrapup_n",
    "transfers",
    "callbacks",
    "callbacks_kept",
    "fcr_sum",
    "fcr_n",
    "csat_sum",
    "csat_n",
    "logged_in_s",
    "busy_s",
    *(f"{clock}_{verdict}" for clock in sla.CLOCKS for verdict in ("met", "breached")),
)

_FIELDS = [
    ("offered", pa.int64()),
    detail_field("answered", pa.int64()),
    ("abandoned", pa.int64()),
    ("short_abandoned", pa.int64()),
    detail_field("answer_rate", pa.float64()),
    detail_field("abandon_rate", pa.float64()),
    ("sl", pa.float64()),
    ("sl2", pa.float64()),
    detail_field("threshold_s", pa.float64()),
    ("asa_s", pa.float64()),
    ("aht_s", pa.float64()),
    detail_field("talk_s", pa.float64()),
    detail_field("hold_s", pa.float64()),
    detail_field("wrapup_s", pa.float64()),
    detail_field("hold_recorded", pa.int64()),
    detail_field("wrapup_recorded", pa.int64()),
    detail_field("transfers", pa.int64()),
    ("callbacks", pa.int64()),
    detail_field("callbacks_kept", pa.int64()),
    ("fcr_rate", pa.float64()),
    ("csat", pa.float64()),
    detail_field("csat_answers", pa.int64()),
    ("occupancy", pa.float64()),
    detail_field("logged_in_s", pa.float64()),
    detail_field("busy_s", pa.float64()),
    *((f"sla_{clock}", pa.float64()) for clock in sla.CLOCKS),
]

NOTES = [
    "sl = answered within the threshold / answered; sl2 = (answered within + abandoned within) "
    "/ (answered + abandoned): Asterisk app_queue's SL and SL2; within = a wait of at most the "
    "queue's threshold (its target's seconds in the contact-center configuration, else 20 s)",
    "short_abandoned: abandoned after a wait under 5 s, counted apart and still among the "
    "abandoned (and in sl2, as Asterisk counts every abandon)",
    "aht = talk + hold + wrap-up per answered contact (talk_s, hold_s, wrapup_s: their "
    "averages over the same contacts): it sums what is recorded — the router records wrap-up, "
    "and hold where the front end reports it on completing; a part not recorded counts as 0 "
    "(hold_recorded, wrapup_recorded say for how many); an imported call's talk includes its "
    "hold; asa = average wait of answered contacts",
    "callbacks_kept: the agent's outbound call back is in the log by now; a callback's agent is "
    "the one who called back; answered, the rates, threshold_s, transfers and callbacks_kept are "
    "in --format csv and json",
    "csat = average CSAT score of the survey answers in the period: an answer naming a ticket "
    "goes to the agent who last handled it (as the agents report credits it) and that "
    "interaction's queue and channel; one naming a routed contact (properties.contact_id, the "
    "router's contact id) to that contact's agent, queue and channel; else to the agent and "
    "queue the answer names",
    "occupancy = busy / logged-in time of agents (per agent and team, and their total) from the "
    "router's trail: logged in from ready, not ready or wrap-up until logout; busy with a "
    "contact accepted and not yet ended or transferred, or in wrap-up; not-ready time counts "
    "as logged in",
    "sla_first_response, sla_next_response, sla_resolution = met / (met + breached) over the "
    "decided cycles of that clock of the tickets opened in the period (a cycle whose breach "
    "fired is breached even if met late; one still running is left out); per the ticket's "
    "queue, channel, owner and the owner's team",
]

LOOKBACK = timedelta(days=1)  # an agent's steps this long before the period say how it began
AGENT_STEPS = (
    *cc.LOGGED_IN_STATES,
    cc.LOGGED_OUT,
    *cc.CONTACT_TAKEN,
    *cc.CONTACT_LEFT,
)


@dataclass(frozen=True)
class CenterHistory:
    """What the contact center's own tables say about a period: each agent's logged-in and busy
    seconds, and each ticket clock's met and breached cycles with its ticket's queue, owner and
    channel."""

    agents: dict[str, tuple[float, float]] = field(default_factory=dict)
    clocks: list[dict[str, Any]] = field(default_factory=list)


def load_history(settings: Settings, start: datetime | None, end: datetime) -> CenterHistory:
    """The period's history from the system of record (the router's event trail and the tickets'
    clocks), whichever engine the report runs on."""
    from touchpoint.analytics.engines import read_engine
    from touchpoint.store import contact_center as cc_store
    from touchpoint.store import tickets as ticket_store

    start, end = _aware(start), _aware(end)
    assert end is not None
    with read_engine(settings).connect() as conn:
        since = start - LOOKBACK if start is not None else None
        steps = cc_store.agent_steps(conn, AGENT_STEPS, since, end)
        clocks = ticket_store.clocks_opened_between(conn, start, end, sla.BREACHED_EVENT)
    by_agent: dict[str, list[cc.AgentEvent]] = defaultdict(list)
    for row in steps:
        by_agent[row["agent_id"]].append(
            cc.AgentEvent(
                at=_aware(row["at"]) or end,
                order=int(row["seq"]),
                kind=row["kind"],
                contact=row["contact_id"],
                wrap_s=(row["detail"] or {}).get("s") if row["kind"] == cc.WRAP_UP else None,
            )
        )
    first = start if start is not None else min((e.at for e in _all(by_agent)), default=end)
    agents = {agent: cc.agent_time(events, first, end) for agent, events in by_agent.items()}
    decided = []
    for row in clocks:
        met, breached = sla.decided_cycles(
            row["cycle"], row["stopped_at"] is not None, row["breached"]
        )
        decided.append(row | {"met": met, "breached": breached})
    return CenterHistory(agents, decided)


def _all(by_agent: dict[str, list[cc.AgentEvent]]) -> list[cc.AgentEvent]:
    return [e for events in by_agent.values() for e in events]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def history_sums(history: CenterHistory, by: str) -> dict[str, dict[str, float]]:
    """Per key of the breakdown (agents for team, rolled up later), the history's sums: agents'
    logged-in and busy seconds (agent and team only), clocks' met and breached cycles (by the
    ticket's queue, channel or owner; not by stage)."""
    found: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
    if by in ("agent", "team"):
        for agent, (logged_in, busy) in history.agents.items():
            found[agent]["logged_in_s"] += logged_in
            found[agent]["busy_s"] += busy
    column = {"queue": "queue", "channel": "channel", "agent": "owner", "team": "owner"}.get(by)
    if column is not None:
        for row in history.clocks:
            into = found[row[column] or NONE_LABEL]
            into[f"{row['clock']}_met"] += row["met"]
            into[f"{row['clock']}_breached"] += row["breached"]
    return dict(found)


def csat_answers(sources: Sources, request: ReportRequest) -> ir.Table:
    """The period's CSAT answers, each with the agent, queue and channel it is credited to: an
    answer naming a ticket, the ticket's last handled interaction before it (agent, queue,
    channel); else one naming a routed contact (properties.contact_id), that contact's; else
    the answer's own agent and queue."""
    inter = sources.interactions
    answers = inter.filter(in_period(inter.occurred_at, request) & inter.csat.notnull())
    handled = inter.filter(
        inter.agent.notnull() & inter.ticket_id.notnull() & until_now(inter.occurred_at, request)
    ).select(
        h_ticket=inter.ticket_id,
        h_at=inter.occurred_at,
        h_seq=inter.seq,
        h_agent=inter.agent,
        h_queue=inter.queue,
        h_channel=inter.channel,
    )
    pairs = answers.left_join(
        handled, [answers.ticket_id == handled.h_ticket, handled.h_at <= answers.occurred_at]
    )
    latest = ibis.window(
        group_by=pairs.seq, order_by=[ibis.desc(pairs.h_at), ibis.desc(pairs.h_seq)]
    )
    ranked = pairs.mutate(_r=ibis.row_number().over(latest))
    first = ranked.filter(ranked._r == 0)
    routed = inter.filter(inter.id.startswith(cc.CONTACT_ID_PREFIX)).select(
        c_id=inter.id, c_agent=inter.agent, c_queue=inter.queue, c_channel=inter.channel
    )
    first = first.left_join(routed, (cc.CONTACT_ID_PREFIX + first.contact_id) == routed.c_id)
    by_ticket = first.h_agent.notnull()
    by_contact = ~by_ticket & first.c_id.notnull()
    return first.select(
        seq=first.seq,
        customer_id=first.customer_id,
        occurred_at=first.occurred_at,
        score=first.csat,
        agent=by_ticket.ifelse(first.h_agent, by_contact.ifelse(first.c_agent, first.agent)),
        back_agent=ibis.null("string"),
        queue=by_ticket.ifelse(first.h_queue, by_contact.ifelse(first.c_queue, first.queue)),
        channel=by_ticket.ifelse(
            first.h_channel, by_contact.ifelse(first.c_channel, first.channel)
        ),
    )


def threshold_expr(t: ir.Table, terms: cc.CenterTerms) -> ir.NumericValue:
    """Each contact's service-level threshold: its queue's, else the default."""
    threshold: ir.NumericValue = ibis.literal(cc.DEFAULT_THRESHOLD_S)
    for queue, seconds in terms.thresholds.items():
        threshold = (t.queue == queue).ifelse(seconds, threshold)
    return threshold


def short_abandon(t: ir.Table) -> ir.BooleanColumn:
    """Of a live contact: abandoned after a wait under SHORT_ABANDON_S."""
    return abandoned(t) & (wait(t) < cc.SHORT_ABANDON_S).fill_null(False)


def callback_requested(t: ir.Table) -> ir.BooleanColumn:
    """Of a live contact: the customer asked to be called back."""
    return (t.outcome == cc.CALLBACK_REQUESTED).fill_null(False)


def aht_seconds(t: ir.Table) -> ir.NumericValue:
    """A contact's handle time, talk + hold + wrap-up (domain.contact_center): the parts not
    recorded count as nothing; NULL without a talk time."""
    return (
        handle_time(t) + t[cc.HOLD_PROPERTY].fill_null(0.0) + t[cc.WRAPUP_PROPERTY].fill_null(0.0)
    )


def within(t: ir.Table) -> ir.BooleanColumn:
    """The contact's wait is at most its `threshold` column (Asterisk's `<= servicelevel`)."""
    return (wait(t) <= t.threshold).fill_null(False)


def contacts(sources: Sources, request: ReportRequest) -> ir.Table:
    """The period's live contacts, each with its threshold and its call back (`back_agent`,
    `kept`: the outbound call back is in the log by now)."""
    inter = sources.interactions
    period = inter.filter(in_period(inter.occurred_at, request))
    live = period.filter(live_contact(period))
    backs = inter.filter(
        until_now(inter.occurred_at, request)
        & (inter.direction == cc.OUTBOUND)
        & inter.id.endswith(cc.CALLBACK_ID_SUFFIX)
    )
    backs = backs.select(back_id=backs.id, back_agent=backs.agent)
    joined = live.left_join(backs, live.id.concat(cc.CALLBACK_ID_SUFFIX) == backs.back_id)
    return joined.mutate(
        threshold=threshold_expr(joined, sources.center()),
        kept=joined.back_id.notnull(),
    )


def _key(sources: Sources, t: ir.Table, by: str) -> ir.Table:
    """`t` with `key`: what a row of the report groups (for team, the agent; see _rows)."""
    if by == "queue":
        return t.mutate(key=t.queue.fill_null(NONE_LABEL))
    if by in ("agent", "team"):
        return t.mutate(key=ibis.coalesce(t.agent, t.back_agent).fill_null(NONE_LABEL))
    if by == "channel":
        return t.mutate(key=t.channel)
    return _stage_then(sources, t)


def _stage_then(sources: Sources, t: ir.Table) -> ir.Table:
    """`t` with `key`: the customer's stage at the contact's time (their latest transition at or
    before it), "(none)" before any."""
    moves = sources.transitions
    moves = moves.select(
        m_customer=moves.customer_id, m_stage=moves.to_stage, m_at=moves.at, m_seq=moves.seq
    )
    pairs = t.left_join(moves, [t.customer_id == moves.m_customer, moves.m_at <= t.occurred_at])
    latest = ibis.window(
        group_by=pairs.seq, order_by=[ibis.desc(pairs.m_at), ibis.desc(pairs.m_seq)]
    )
    ranked = pairs.mutate(_r=ibis.row_number().over(latest))
    first = ranked.filter(ranked._r == 0)
    return first.mutate(key=first.m_stage.fill_null(NONE_LABEL))


def sums(sources: Sources, request: ReportRequest, by: str) -> list[dict[str, Any]]:
    """Per key: the counts and sums of its contacts."""
    t = _key(sources, contacts(sources, request), by)
    took = answered(t)
    gone = abandoned(t)
    inside = within(t)
    asked = callback_requested(t)
    hold, wrapup = t[cc.HOLD_PROPERTY], t[cc.WRAPUP_PROPERTY]
    handled = aht_seconds(t)
    grouped = t.group_by("key").aggregate(
        offered=t.count(),
        answered=t.count(where=took),
        answered_within=t.count(where=took & inside),
        abandoned=t.count(where=gone),
        abandoned_within=t.count(where=gone & inside),
        short_abandoned=t.count(where=short_abandon(t)),
        wait_sum=wait(t).sum(where=took),
        wait_n=wait(t).count(where=took),
        handle_sum=handled.sum(where=took),
        handle_n=handled.count(where=took),
        talk_sum=handle_time(t).sum(where=took),
        hold_sum=hold.sum(where=took & handled.notnull()),
        hold_n=hold.count(where=took & handled.notnull()),
        wrapup_sum=wrapup.sum(where=took & handled.notnull()),
        wrapup_n=wrapup.count(where=took & handled.notnull()),
        transfers=t[cc.TRANSFERS_PROPERTY].sum(),
        callbacks=t.count(where=asked),
        callbacks_kept=t.count(where=asked & t.kept),
        fcr_sum=fcr_flag(t).sum(where=took),
        fcr_n=fcr_flag(t).count(where=took),
    )
    found = {
        r["key"]: {"key": r["key"]} | {name: r.get(name) or 0 for name in _COUNTS}
        for r in to_arrow(sources, grouped).to_pylist()
    }
    scored = _key(sources, csat_answers(sources, request), by)
    answers = scored.group_by("key").aggregate(
        csat_sum=scored.score.sum(), csat_n=scored.score.count()
    )
    for r in to_arrow(sources, answers).to_pylist():
        into = found.setdefault(r["key"], {"key": r["key"]} | dict.fromkeys(_COUNTS, 0))
        into["csat_sum"], into["csat_n"] = r["csat_sum"] or 0, r["csat_n"] or 0
    return list(found.values())


def service_level_by_window(
    sources: Sources, request: ReportRequest, edges: list[datetime]
) -> list[float | None]:
    """The service level (sl) of all queues together in each window [edges[i], edges[i + 1])
    (ascending edges), as this report's total gives it with that window as its period: answered
    within the contact's threshold over answered — in one query grouped by window. It needs
    neither the CSAT answers nor the center's history, which add nothing to those counts."""
    t = contacts(sources, replace(request, start=edges[0], end=edges[-1]))
    took = answered(t)
    grouped = t.group_by(window=window_index(t.occurred_at, edges)).aggregate(
        answered=t.count(where=took), answered_within=t.count(where=took & within(t))
    )
    found = {r["window"]: r for r in to_arrow(sources, grouped).to_pylist()}
    return [
        cc.service_level(int(r["answered_within"]), int(r["answered"])) if r else None
        for r in (found.get(i) for i in range(len(edges) - 1))
    ]


def with_history(
    found: list[dict[str, Any]], history: CenterHistory, by: str
) -> list[dict[str, Any]]:
    """The keys' sums with the history's added (a key only the history knows gets a row)."""
    rows = {r["key"]: dict(r) for r in found}
    for key, extra in history_sums(history, by).items():
        into = rows.setdefault(key, {"key": key} | dict.fromkeys(_COUNTS, 0))
        for name, value in extra.items():
            into[name] += value
    return list(rows.values())


def _rows(found: list[dict[str, Any]], by: str, terms: cc.CenterTerms) -> list[dict[str, Any]]:
    """The keys' sums rolled up to the breakdown (agents into their configured teams)."""
    if by != "team":
        return found
    teams: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in found:
        team = terms.teams.get(r["key"]) or NONE_LABEL
        into = teams[team]
        for name in _COUNTS:
            into[name] = into.get(name, 0) + r[name]
    return [{"key": team} | counts for team, counts in teams.items()]


def total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": TOTAL} | {name: sum(r[name] for r in rows) for name in _COUNTS}


def figures(r: dict[str, Any], threshold_s: float | None) -> dict[str, Any]:
    """One row's KPIs from its counts and sums."""
    return {
        "offered": int(r["offered"]),
        "answered": int(r["answered"]),
        "abandoned": int(r["abandoned"]),
        "short_abandoned": int(r["short_abandoned"]),
        "answer_rate": ratio(r["answered"], r["offered"]),
        "abandon_rate": ratio(r["abandoned"], r["offered"]),
        "sl": cc.service_level(int(r["answered_within"]), int(r["answered"])),
        "sl2": cc.service_level_2(
            int(r["answered_within"]),
            int(r["abandoned_within"]),
            int(r["answered"]),
            int(r["abandoned"]),
        ),
        "threshold_s": threshold_s,
        "asa_s": ratio(r["wait_sum"], r["wait_n"]),
        "aht_s": ratio(r["handle_sum"], r["handle_n"]),
        "talk_s": ratio(r["talk_sum"], r["handle_n"]),
        "hold_s": ratio(r["hold_sum"], r["handle_n"]),
        "wrapup_s": ratio(r["wrapup_sum"], r["handle_n"]),
        "hold_recorded": int(r["hold_n"]),
        "wrapup_recorded": int(r["wrapup_n"]),
        "transfers": int(r["transfers"]),
        "callbacks": int(r["callbacks"]),
        "callbacks_kept": int(r["callbacks_kept"]),
        "fcr_rate": ratio(r["fcr_sum"], r["fcr_n"]),
        "csat": ratio(r["csat_sum"], r["csat_n"]),
        "csat_answers": int(r["csat_n"]),
        "occupancy": cc.occupancy(float(r["logged_in_s"]), float(r["busy_s"])),
        "logged_in_s": float(r["logged_in_s"]),
        "busy_s": float(r["busy_s"]),
        **{
            f"sla_{clock}": sla.attainment(int(r[f"{clock}_met"]), int(r[f"{clock}_breached"]))
            for clock in sla.CLOCKS
        },
    }


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    by = request.by or DEFAULT_BY
    terms = sources.center()
    end = request.end or request.at
    history = (
        sources.center_history(request.start, min(end, request.at))
        if sources.center_history is not None
        else CenterHistory()
    )
    found = with_history(sums(sources, request, by), history, by)
    rows = sorted(_rows(found, by, terms), key=lambda r: r["key"])
    if len(rows) > 1:  # a total under two rows or more (under one it would repeat it)
        rows.append(total(rows))
    out = []
    for r in rows:
        queue_threshold = by == "queue" and r["key"] != TOTAL
        threshold = terms.threshold(None if r["key"] == NONE_LABEL else r["key"])
        out.append({by: r["key"]} | figures(r, threshold if queue_threshold else None))
    schema = pa.schema([(by, pa.string()), *_FIELDS])
    notes = [*NOTES, _by_note(by)]
    title = "Contact-center KPIs"
    return ReportResult("contact-center", title, pa.Table.from_pylist(out, schema=schema), notes)


def _by_note(by: str) -> str:
    return {
        "queue": "per queue the contact was in last; threshold_s is the queue's",
        "team": "team: the agent's team in the contact-center configuration in force",
        "agent": "agent: who answered the contact (or called back)",
        "channel": "channel: the contact's own channel",
        "stage": "stage: the customer's lifecycle stage at the contact's time (their latest "
        "transition at or before it), not their current stage",
    }[by]


SPEC = register(
    ReportSpec(
        name="contact-center",
        title="Contact-center KPIs",
        description="Per queue (or team, agent, channel, stage at the contact's time) in the "
        "period: offered, answered, abandoned and short abandons (under 5 s), service level "
        "both ways Asterisk reports it (SL over answered, SL2 over answered and abandoned) "
        "against each queue's configured threshold, average speed of answer, handle time, "
        "transfers, callbacks requested and kept, and first-contact resolution.",
        run=run,
        plot=plots.table_figure,
    )
)
