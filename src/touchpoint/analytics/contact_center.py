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
)
from touchpoint.analytics.output import detail_field
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain import contact_center as cc

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
    "transfers",
    "callbacks",
    "callbacks_kept",
    "fcr_sum",
    "fcr_n",
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
    detail_field("transfers", pa.int64()),
    ("callbacks", pa.int64()),
    detail_field("callbacks_kept", pa.int64()),
    ("fcr_rate", pa.float64()),
]

NOTES = [
    "sl = answered within the threshold / answered; sl2 = (answered within + abandoned within) "
    "/ (answered + abandoned): Asterisk app_queue's SL and SL2; within = a wait of at most the "
    "queue's threshold (its target's seconds in the contact-center configuration, else 20 s)",
    "short_abandoned: abandoned after a wait under 5 s, counted apart and still among the "
    "abandoned (and in sl2, as Asterisk counts every abandon)",
    "aht = talk time as the log records it (assignment to completion, any hold included): "
    "hold and wrap-up are not recorded separately; asa = average wait of answered contacts",
    "callbacks_kept: the agent's outbound call back is in the log by now; a callback's agent is "
    "the one who called back; answered, the rates, threshold_s, transfers and callbacks_kept are "
    "in --format csv and json",
]


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
    grouped = t.group_by("key").aggregate(
        offered=t.count(),
        answered=t.count(where=took),
        answered_within=t.count(where=took & inside),
        abandoned=t.count(where=gone),
        abandoned_within=t.count(where=gone & inside),
        short_abandoned=t.count(where=short_abandon(t)),
        wait_sum=wait(t).sum(where=took),
        wait_n=wait(t).count(where=took),
        handle_sum=handle_time(t).sum(where=took),
        handle_n=handle_time(t).count(where=took),
        transfers=t[cc.TRANSFERS_PROPERTY].sum(),
        callbacks=t.count(where=asked),
        callbacks_kept=t.count(where=asked & t.kept),
        fcr_sum=fcr_flag(t).sum(where=took),
        fcr_n=fcr_flag(t).count(where=took),
    )
    return [
        {"key": r["key"]} | {name: r[name] or 0 for name in _COUNTS}
        for r in to_arrow(sources, grouped).to_pylist()
    ]


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
        "transfers": int(r["transfers"]),
        "callbacks": int(r["callbacks"]),
        "callbacks_kept": int(r["callbacks_kept"]),
        "fcr_rate": ratio(r["fcr_sum"], r["fcr_n"]),
    }


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    by = request.by or DEFAULT_BY
    terms = sources.center()
    rows = sorted(_rows(sums(sources, request, by), by, terms), key=lambda r: r["key"])
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
