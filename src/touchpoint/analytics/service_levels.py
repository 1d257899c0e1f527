"""Contact-center service levels for a period, per channel and queue.

Live contacts (inbound calls and chats): offered, answered (an agent took it), abandoned, answer
rate, service level (the share of offered contacts answered within the target wait: 20 s for
calls, the classic 80/20, and 60 s for chats), average speed of answer and handle time of answered
contacts, and the first-contact resolution rate where agents recorded it. The wait is the `wait_s`
property.

Written messages (inbound email, social and SMS with a queue): offered, answered (an agent's reply
on the same channel to the same customer within 7 days), the share answered within 24 hours, and
the median first-response time.

The terms are domain/contact_center.py's, the same for every report.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    abandoned,
    agent_reply,
    answered,
    fcr_flag,
    handle_time,
    in_period,
    live_contact,
    nearest_rank,
    ratio,
    to_arrow,
    until_now,
    wait,
    written_message,
)
from touchpoint.analytics.output import detail_field
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain.contact_center import REPLY_WINDOW_S

TARGET_WAIT_S = {"phone": 20, "chat": 60}  # answered within this counts toward the service level
DEFAULT_TARGET_WAIT_S = 20
RESPONSE_TARGET_S = 24 * 3600  # written messages answered within a day
NO_QUEUE = "(none)"
TOTAL = "(total)"

SCHEMA = pa.schema(
    [
        ("channel", pa.string()),
        ("queue", pa.string()),
        ("offered", pa.int64()),
        detail_field("answered", pa.int64()),  # the terminal shows the answer rate
        ("abandoned", pa.int64()),
        ("answer_rate", pa.float64()),
        ("service_level", pa.float64()),
        ("target", pa.string()),
        ("asa_s", pa.float64()),
        ("aht_s", pa.float64()),
        ("fcr_rate", pa.float64()),
        ("response_p50_s", pa.float64()),
    ]
)


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    inter = sources.interactions
    period = inter.filter(in_period(inter.occurred_at, request))
    marked = _first_responses(sources, period, request)
    rows = _live(sources, period) + _messages(sources, marked)
    rows.sort(key=lambda r: (r["channel"], r["queue"]))
    if len(rows) > 1:  # a total under two rows or more (under one it would repeat it)
        rows.append(total_row(rows, _overall_response_p50(sources, marked)))
    notes = [
        "service level = answered within the target wait / offered; "
        "asa = average speed of answer; aht = average handle time",
        "total: the counts summed, each contact judged by its own channel's target; rates "
        "from the summed counts, not averages of the rows' percentages",
    ]
    table = pa.Table.from_pylist([_public(r) for r in rows], schema=SCHEMA)
    return ReportResult("service-levels", "Contact-center service levels", table, notes)


def _live(sources: Sources, period: Any) -> list[dict[str, Any]]:
    live = period.filter(live_contact(period))
    live = live.mutate(queue=live.queue.fill_null(NO_QUEUE))
    target = ibis.literal(DEFAULT_TARGET_WAIT_S)
    for channel, seconds in TARGET_WAIT_S.items():
        target = (live.channel == channel).ifelse(seconds, target)
    took = answered(live)
    sums = live.group_by("channel", "queue").aggregate(
        offered=live.count(),
        answered=live.count(where=took),
        abandoned=live.count(where=abandoned(live)),
        in_target=live.count(where=took & (wait(live) <= target)),
        wait_sum=wait(live).sum(where=took),
        wait_n=wait(live).count(where=took),
        handle_sum=handle_time(live).sum(where=took),
        handle_n=handle_time(live).count(where=took),
        fcr_sum=fcr_flag(live).sum(where=took),
        fcr_n=fcr_flag(live).count(where=took),
    )
    rows = []
    for r in to_arrow(sources, sums).to_pylist():
        offered = int(r["offered"])
        target_s = TARGET_WAIT_S.get(r["channel"], DEFAULT_TARGET_WAIT_S)
        rows.append(
            {
                "channel": r["channel"],
                "queue": r["queue"],
                "offered": offered,
                "answered": int(r["answered"]),
                "abandoned": int(r["abandoned"]),
                "answer_rate": ratio(r["answered"], offered),
                "service_level": ratio(r["in_target"], offered),
                "target": f"{target_s} s",
                "asa_s": ratio(r["wait_sum"], r["wait_n"]),
                "aht_s": ratio(r["handle_sum"], r["handle_n"]),
                "fcr_rate": ratio(r["fcr_sum"], r["fcr_n"]),
                "response_p50_s": None,
            }
            | {f"_{name}": r[name] or 0 for name in _SUMS}
        )
    return rows


# What a total needs from each row: the counts and sums its ratios are made of.
_SUMS = ("in_target", "wait_sum", "wait_n", "handle_sum", "handle_n", "fcr_sum", "fcr_n")


def total_row(rows: list[dict[str, Any]], response_p50_s: float | None) -> dict[str, Any]:
    """The rows added up: counts summed, and each rate recomputed from the summed counts
    (answered within target over all offered), never an average of the rows' percentages."""

    def add(name: str) -> float:
        return sum(r[name] or 0 for r in rows)

    offered = int(add("offered"))
    live = [r for r in rows if r["abandoned"] is not None]
    return {
        "channel": TOTAL,
        "queue": "",
        "offered": offered,
        "answered": int(add("answered")),
        "abandoned": int(sum(r["abandoned"] for r in live)) if live else None,
        "answer_rate": ratio(add("answered"), offered),
        "service_level": ratio(add("_in_target"), offered),
        "target": "own",  # each contact against its own channel's target
        "asa_s": ratio(add("_wait_sum"), add("_wait_n")),
        "aht_s": ratio(add("_handle_sum"), add("_handle_n")),
        "fcr_rate": ratio(add("_fcr_sum"), add("_fcr_n")),
        "response_p50_s": response_p50_s,
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _first_responses(sources: Sources, period: Any, request: ReportRequest) -> Any:
    """The period's written messages, each with its first agent reply's delay (`response_s`,
    NULL when unanswered within the reply window)."""
    inbound = period.filter(written_message(period)).select(
        "seq", "customer_id", "channel", "queue", "occurred_at"
    )
    inter = sources.interactions
    replies = inter.filter(agent_reply(inter) & until_now(inter.occurred_at, request))
    replies = replies.select(
        r_customer=replies.customer_id, r_channel=replies.channel, r_at=replies.occurred_at
    )
    gap = replies.r_at.epoch_seconds() - inbound.occurred_at.epoch_seconds()
    pairs = inbound.join(
        replies,
        [
            inbound.customer_id == replies.r_customer,
            inbound.channel == replies.r_channel,
            gap >= 0,
            gap <= REPLY_WINDOW_S,
        ],
    )
    pairs = pairs.mutate(response_s=pairs.r_at.epoch_seconds() - pairs.occurred_at.epoch_seconds())
    first = pairs.group_by(answered_seq=pairs.seq).aggregate(response_s=pairs.response_s.min())
    return inbound.left_join(first, inbound.seq == first.answered_seq)


def _overall_response_p50(sources: Sources, marked: Any) -> float | None:
    """The median first response over every answered message (a median of medians is not one)."""
    answered = marked.filter(marked.response_s.notnull())
    median = nearest_rank(sources, answered, "response_s", [], {"p50": 0.5})
    value = to_arrow(sources, median).to_pylist()
    return float(value[0]["p50"]) if value and value[0]["p50"] is not None else None


def _messages(sources: Sources, marked: Any) -> list[dict[str, Any]]:
    sums = marked.group_by("channel", "queue").aggregate(
        offered=marked.count(),
        answered=marked.count(where=marked.response_s.notnull()),
        in_target=marked.count(where=marked.response_s <= RESPONSE_TARGET_S),
    )
    answered = marked.filter(marked.response_s.notnull())
    medians = nearest_rank(
        sources, answered, "response_s", ["channel", "queue"], {"response_p50_s": 0.5}
    )
    p50 = {
        (r["channel"], r["queue"]): r["response_p50_s"]
        for r in to_arrow(sources, medians).to_pylist()
    }
    rows = []
    for r in to_arrow(sources, sums).to_pylist():
        offered = int(r["offered"])
        median = p50.get((r["channel"], r["queue"]))
        rows.append(
            {
                "channel": r["channel"],
                "queue": r["queue"],
                "offered": offered,
                "answered": int(r["answered"]),
                "abandoned": None,
                "answer_rate": ratio(r["answered"], offered),
                "service_level": ratio(r["in_target"], offered),
                "target": "24 h",
                "asa_s": None,
                "aht_s": None,
                "fcr_rate": None,
                "response_p50_s": None if median is None else float(median),
            }
            | {f"_{name}": 0 for name in _SUMS}
            | {"_in_target": r["in_target"] or 0}
        )
    return rows


SPEC = register(
    ReportSpec(
        name="service-levels",
        title="Contact-center service levels",
        description="Per channel and queue: offered, answered, abandoned, answer rate, service "
        "level (answered within 20 s for calls, 60 s for chats, 24 h for written messages), "
        "average speed of answer, handle time, first-contact resolution and the median "
        "first-response time of written messages.",
        run=run,
        plot=plots.service_levels,
    )
)
