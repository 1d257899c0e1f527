"""Predictive scores' features and labels, set-based over the log: one Ibis expression per
cut-off, one row per customer (`domain.predictions` names the columns and the targets).

Features read only interactions and stage transitions at or before the cut-off — the first
filter of `customer_features` — so a change to anything later cannot change them (a test
rewrites every later event to prove it). Labels read the horizon after the cut-off and nothing
before it but the stage the customer was in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpoint.analytics.common import naive, public_ids
from touchpoint.domain import contact_center as cc
from touchpoint.domain import predictions as terms
from touchpoint.errors import ValidationError

DAY_S = 86_400.0
EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 (naive UTC, as every engine compares times)
CHANNELS = ("phone", "email", "chat", "web", "social")  # the channel-mix shares
RECENT_DAYS = 90
PURCHASE, REFUND = "purchase", "refund"
TICKET_OPENED, TICKET_RESOLVED = "ticket_opened", "ticket_resolved"
EMAIL_SENT, EMAIL_OPENED, EMAIL_CLICKED = "email_sent", "email_opened", "email_clicked"


def stage_ranks(progression: list[str], overlays: list[str]) -> dict[str, int]:
    """Progression stages by position (reach 0, acquisition 1…); overlays rank -1 (they say
    nothing of how far the customer got)."""
    return {name: i for i, name in enumerate(progression)} | dict.fromkeys(overlays, -1)


def conversion_rank(progression: list[str]) -> int:
    if terms.CONVERSION_STAGE not in progression:
        raise ValidationError(
            f"the stage model has no {terms.CONVERSION_STAGE!r} stage, which the predictive "
            "scores' targets are defined by"
        )
    return progression.index(terms.CONVERSION_STAGE)


def _rank(column: ir.StringColumn, ranks: dict[str, int]) -> ir.IntegerColumn:
    return ibis.cases(*((column == name, rank) for name, rank in ranks.items()), else_=-1)


def _stage_at(transitions: ir.Table, cutoff: datetime, ranks: dict[str, int]) -> ir.Table:
    """customer_id, stage (the latest transition's), stage_at, reached (the furthest
    progression rank) as of the cut-off."""
    moves = transitions.filter(transitions.at <= ibis.literal(cutoff))
    newest = ibis.window(
        group_by=moves.customer_id, order_by=[ibis.desc(moves.at), ibis.desc(moves.seq)]
    )
    moves = moves.mutate(_r=ibis.row_number().over(newest), _rank=_rank(moves.to_stage, ranks))
    reached = moves.group_by("customer_id").aggregate(reached=moves._rank.max())
    latest = moves.filter(moves._r == 0).select(
        "customer_id", stage=moves.to_stage, stage_at=moves.at
    )
    return latest.join(reached, "customer_id")


def _last_value(past: ir.Table, column: str) -> ir.Table:
    """customer_id -> the customer's latest non-null `column` (ties: the highest seq)."""
    rows = past.filter(past[column].notnull())
    newest = ibis.window(
        group_by=rows.customer_id, order_by=[ibis.desc(rows.occurred_at), ibis.desc(rows.seq)]
    )
    rows = rows.mutate(_r=ibis.row_number().over(newest))
    return rows.filter(rows._r == 0).select("customer_id", **{f"{column}_last": rows[column]})


def customer_features(
    interactions: ir.Table,
    transitions: ir.Table,
    *,
    cutoff: datetime,
    progression: list[str],
    overlays: list[str],
    lead_scores: ir.Table | None = None,
) -> ir.Table:
    """One row per customer with an interaction at or before `cutoff`: customer_id and every
    column of `domain.predictions.FEATURES`, plus `reached` and `stage` (for the labels).
    `lead_scores` (customer_id, lead_score as of the cut-off), when the lead-score projection
    is there; else the column is empty and the model learns nothing from it."""
    cut = naive(cutoff)
    past = interactions.filter(interactions.occurred_at <= ibis.literal(cut))
    cut_s = (cut - EPOCH).total_seconds()
    age = (ibis.literal(cut_s) - past.occurred_at.epoch_seconds()) / DAY_S
    recent = age <= RECENT_DAYS
    active = past.direction == cc.INBOUND  # as analytics.common.active: what the customer did
    live = past.type.isin(cc.LIVE_TYPES) & (past.direction == cc.INBOUND)
    bought = (past.type == PURCHASE) & (past.revenue > 0)
    on_ticket = active & past.ticket_id.notnull() & (past.type != TICKET_OPENED)
    per = past.group_by("customer_id").aggregate(
        first_age=age.max(),
        active_age=age.min(where=active),
        purchase_age=age.min(where=bought),
        active_30d=past.count(where=active & (age <= 30)),
        active_90d=past.count(where=active & recent),
        active_total=past.count(where=active),
        purchases=past.count(where=bought),
        revenue_total=past.revenue.sum(where=bought),
        revenue_90d=past.revenue.sum(where=bought & recent),
        refunds=past.count(where=past.type == REFUND),
        support_contacts_90d=past.count(where=live & recent),
        wait_mean_s=past[cc.WAIT_PROPERTY].mean(where=live),
        wait_max_s=past[cc.WAIT_PROPERTY].max(where=live),
        abandoned_contacts=past.count(where=live & past.outcome.isin(cc.ABANDONED_OUTCOMES)),
        csat_mean=past.csat.mean(),
        tickets_opened=past.count(where=past.type == TICKET_OPENED),
        tickets_resolved=past.count(where=past.type == TICKET_RESOLVED),
        ticket_contacts=past.count(where=on_ticket),
        tickets_contacted=past.ticket_id.nunique(where=on_ticket),
        emails_sent_90d=past.count(where=(past.type == EMAIL_SENT) & recent),
        emails_opened_90d=past.count(where=(past.type == EMAIL_OPENED) & recent),
        emails_clicked_90d=past.count(where=(past.type == EMAIL_CLICKED) & recent),
        **{f"_n_{ch}": past.count(where=active & (past.channel == ch)) for ch in CHANNELS},
    )
    ranks = stage_ranks(progression, overlays)
    table = per.left_join(_last_value(past, "csat"), "customer_id").drop("customer_id_right")
    table = table.left_join(_last_value(past, "nps"), "customer_id").drop("customer_id_right")
    stage = _stage_at(transitions, cut, ranks)
    table = table.left_join(stage, "customer_id").drop("customer_id_right")
    if lead_scores is not None:
        table = table.left_join(lead_scores, "customer_id").drop("customer_id_right")
    else:
        table = table.mutate(lead_score=ibis.null("float64"))
    return _finish(table, cut_s, ranks)


def _finish(t: ir.Table, cut_s: float, ranks: dict[str, int]) -> ir.Table:
    def share(n: ir.IntegerValue) -> ir.FloatingValue:
        return (t.active_total > 0).ifelse(n / t.active_total, None)

    stage_age = (ibis.literal(cut_s) - t.stage_at.epoch_seconds()) / DAY_S
    return t.select(
        "customer_id",
        "reached",
        "stage",
        days_since_active=t.active_age,
        days_since_purchase=t.purchase_age,
        active_30d=t.active_30d,
        active_90d=t.active_90d,
        active_total=t.active_total,
        purchases=t.purchases,
        revenue_total=t.revenue_total.fill_null(0.0),
        revenue_90d=t.revenue_90d.fill_null(0.0),
        refunds=t.refunds,
        tenure_days=t.first_age,
        **{f"share_{ch}": share(t[f"_n_{ch}"]) for ch in CHANNELS},
        support_contacts_90d=t.support_contacts_90d,
        wait_mean_s=t.wait_mean_s,
        wait_max_s=t.wait_max_s,
        abandoned_contacts=t.abandoned_contacts,
        csat_mean=t.csat_mean,
        csat_last=t.csat_last,
        nps_last=t.nps_last,
        tickets_opened=t.tickets_opened,
        tickets_unresolved=(t.tickets_opened - t.tickets_resolved).clip(lower=0),
        repeat_ticket_contacts=(t.ticket_contacts - t.tickets_contacted).clip(lower=0),
        stage_rank=t.reached,
        at_risk=(t.stage == "at_risk").fill_null(False).cast("int64"),
        days_in_stage=stage_age,
        lead_score=t.lead_score.cast("float64"),
        emails_sent_90d=t.emails_sent_90d,
        emails_opened_90d=t.emails_opened_90d,
        email_open_rate=(t.emails_sent_90d > 0).ifelse(
            t.emails_opened_90d / t.emails_sent_90d, None
        ),
        emails_clicked_90d=t.emails_clicked_90d,
    )


def eligible(features: ir.Table, target: str, conversion_at: int) -> ir.Table:
    """The customers `target` scores (domain.predictions): not yet converted (conversion), or
    converted and not churned (churn)."""
    converted = features.reached.fill_null(-1) >= conversion_at
    if target == terms.CONVERSION:
        return features.filter(~converted)
    return features.filter(converted & (features.stage.fill_null("") != terms.CHURNED_OVERLAY))


def labels(
    transitions: ir.Table,
    *,
    target: str,
    cutoff: datetime,
    horizon_days: int,
    ranks: dict[str, int],
    conversion_at: int,
) -> ir.Table:
    """customer_id of everyone with a yes in (cutoff, cutoff + horizon]: entered conversion or a
    later stage (conversion), or the churned overlay (churn)."""
    start = naive(cutoff)
    end = start + timedelta(days=horizon_days)
    moves = transitions.filter(
        (transitions.at > ibis.literal(start)) & (transitions.at <= ibis.literal(end))
    )
    if target == terms.CONVERSION:
        hit = _rank(moves.to_stage, ranks) >= conversion_at
    else:
        hit = moves.to_stage == terms.CHURNED_OVERLAY
    return moves.filter(hit).select("customer_id").distinct().mutate(label=ibis.literal(1))


def dataset(
    sources: Any,
    *,
    target: str,
    cutoff: datetime,
    horizon_days: int | None,
    lead_scores: ir.Table | None = None,
) -> pd.DataFrame:
    """The eligible customers' features as of `cutoff`, indexed by customer_id (the system of
    record's id), with a `label` column (0/1) when `horizon_days` is given (training and testing)."""
    progression, overlays = list(sources.model.stages), list(sources.model.overlay_names)
    ranks = stage_ranks(progression, overlays)
    conversion_at = conversion_rank(progression)
    feats = customer_features(
        sources.interactions,
        sources.transitions,
        cutoff=cutoff,
        progression=progression,
        overlays=overlays,
        lead_scores=lead_scores,
    )
    table = eligible(feats, target, conversion_at)
    if horizon_days is not None:
        yes = labels(
            sources.transitions,
            target=target,
            cutoff=cutoff,
            horizon_days=horizon_days,
            ranks=ranks,
            conversion_at=conversion_at,
        )
        table = table.left_join(yes, "customer_id").drop("customer_id_right")
        table = table.mutate(label=table.label.fill_null(0))
    frame = sources.backend.to_pyarrow(public_ids(sources, table)).to_pandas()
    frame = frame.drop(columns=["reached", "stage"]).set_index("customer_id").sort_index()
    return frame.astype(dict.fromkeys(terms.FEATURES, "float64"))
