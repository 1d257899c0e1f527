"""Agents for a period: what each handled and how it went.

Per agent: live contacts answered (inbound calls and chats an agent took), written replies sent
(outbound email, social, SMS), average handle time of the live contacts, their first-contact
resolution rate where recorded, and CSAT: each survey answer that names a ticket goes to the
agent who last handled that ticket before the answer. The terms are domain/contact_center.py's.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    agent_reply,
    answered,
    fcr_flag,
    handle_time,
    in_period,
    live_contact,
    ratio,
    to_arrow,
    until_now,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

SCHEMA = pa.schema(
    [
        ("agent", pa.string()),
        ("contacts", pa.int64()),
        ("replies", pa.int64()),
        ("aht_s", pa.float64()),
        ("fcr_rate", pa.float64()),
        ("csat", pa.float64()),
        ("csat_answers", pa.int64()),
    ]
)


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    inter = sources.interactions
    period = inter.filter(in_period(inter.occurred_at, request) & inter.agent.notnull())
    took = live_contact(period) & answered(period)
    reply = agent_reply(period)
    work = period.group_by("agent").aggregate(
        contacts=period.count(where=took),
        replies=period.count(where=reply),
        handle_sum=handle_time(period).sum(where=took),
        handle_n=handle_time(period).count(where=took),
        fcr_sum=fcr_flag(period).sum(where=took),
        fcr_n=fcr_flag(period).count(where=took),
    )
    csat = {r["agent"]: r for r in to_arrow(sources, _csat(sources, request)).to_pylist()}
    sums = []
    for r in to_arrow(sources, work).to_pylist():
        score = csat.get(r["agent"], {})
        sums.append(r | {"csat_sum": score.get("csat_sum"), "csat_n": score.get("csat_n")})
    sums.sort(key=lambda r: (-r["contacts"] - r["replies"], r["agent"]))
    if len(sums) > 1:  # a total under two agents or more (under one it would repeat it)
        sums.append({"agent": TOTAL} | {k: _add(sums, k) for k in _SUMS})
    rows = [_row(r) for r in sums]
    notes = [
        "CSAT goes to the agent who last handled the survey's ticket before the answer",
        "the total's averages and rates are over all the agents' contacts and answers, "
        "not averages of the agents' figures",
    ]
    return ReportResult("agents", "Agents", pa.Table.from_pylist(rows, schema=SCHEMA), notes)


TOTAL = "(total)"
_SUMS = ("contacts", "replies", "handle_sum", "handle_n", "fcr_sum", "fcr_n", "csat_sum", "csat_n")


def _add(rows: list[dict[str, Any]], name: str) -> float:
    return sum(r[name] or 0 for r in rows)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    """One agent's (or the total's) figures from its counts and sums."""
    return {
        "agent": r["agent"],
        "contacts": int(r["contacts"]),
        "replies": int(r["replies"]),
        "aht_s": ratio(r["handle_sum"], r["handle_n"]),
        "fcr_rate": ratio(r["fcr_sum"], r["fcr_n"]),
        "csat": ratio(r["csat_sum"], r["csat_n"]),
        "csat_answers": int(r["csat_n"] or 0),
    }


def _csat(sources: Sources, request: ReportRequest) -> Any:
    """CSAT answers in the period with a ticket, each credited to the ticket's last agent."""
    inter = sources.interactions
    answers = inter.filter(
        in_period(inter.occurred_at, request) & inter.csat.notnull() & inter.ticket_id.notnull()
    ).select(a_seq=inter.seq, a_ticket=inter.ticket_id, a_at=inter.occurred_at, score=inter.csat)
    handled = inter.filter(
        inter.agent.notnull() & inter.ticket_id.notnull() & until_now(inter.occurred_at, request)
    ).select(h_ticket=inter.ticket_id, h_at=inter.occurred_at, h_seq=inter.seq, agent=inter.agent)
    pairs = answers.join(
        handled, [answers.a_ticket == handled.h_ticket, handled.h_at <= answers.a_at]
    )
    latest = ibis.window(
        group_by=pairs.a_seq, order_by=[ibis.desc(pairs.h_at), ibis.desc(pairs.h_seq)]
    )
    ranked = pairs.mutate(_r=ibis.row_number().over(latest))
    credited = ranked.filter(ranked._r == 0)
    return credited.group_by("agent").aggregate(
        csat_sum=credited.score.sum(), csat_n=credited.count()
    )


SPEC = register(
    ReportSpec(
        name="agents",
        title="Agents",
        description="Per agent in the period: live contacts answered, written replies, average "
        "handle time, first-contact resolution and CSAT (each survey answer credited to the "
        "agent who last handled its ticket).",
        run=run,
        plot=plots.table_figure,
    )
)
