"""KPIs by lifecycle stage for a period: the metric set that says how each stage performs.

reach: touches (ad clicks, page views, social engagement) and customers reached;
acquisition: leads (signups and lead forms) and the share of those leads who have bought;
conversion: purchasers, orders, net revenue, average order value, conversion rate (purchasers
  over active customers), abandoned-cart recovery (carts followed by a purchase within 7 days);
retention: repeat-purchase rate, CSAT, first-contact resolution (per resolved ticket), answer
  rate and handle time of live contacts (inbound calls and chats; answered = an agent took it, as
  domain/contact_center.py defines it for every report), median ticket resolution hours;
loyalty: NPS, referral rate, the share of net revenue from customers now in the last two
  progression stages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    DAY_S,
    answered,
    current_stage,
    fcr_flag,
    handle_time,
    in_period,
    in_windows,
    live_contact,
    naive,
    nearest_rank,
    progression,
    ratio,
    to_arrow,
    until_now,
    window_index,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain import surveys
from touchpoint.domain.contact_center import FCR_TICKET_TYPE

REACH_TYPES = ("ad_click", "page_view", "social_engagement")
LEAD_TYPES = ("signup", "lead_form")
RECOVERY_DAYS = 7
SCHEMA = pa.schema(
    [("stage", pa.string()), ("kpi", pa.string()), ("value", pa.float64()), ("unit", pa.string())]
)


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    inter = sources.interactions
    period = inter.filter(in_period(inter.occurred_at, request))
    parts = [*_totals(sources, request), _cart_recovery(sources, period, request)]
    parts.append(_resolution(sources, period))
    # One query per one-row aggregate: side by side in one query they share the period's rows,
    # which DuckDB then materialises (a third of a second per 10M rows) instead of scanning twice.
    values: dict[str, Any] = {}
    for part in parts:
        values |= to_arrow(sources, part).to_pylist()[0]
    rows = _rows(values, progression(sources))
    return ReportResult("kpis", "KPIs by stage", pa.Table.from_pylist(rows, schema=SCHEMA))


def _totals(sources: Sources, request: ReportRequest) -> tuple[Any, Any]:
    """Most KPIs in two aggregates: plain sums over the period's interactions, and
    the customer counts from one row per customer (what they did in the period, whether they ever
    bought, their current stage) — no DISTINCT counts."""
    inter = sources.interactions
    t = inter.filter(until_now(inter.occurred_at, request))
    # When the period is all history up to "now" (the default), t is the period: the per-customer
    # pass then tests no period condition per aggregate (a tenth to a fifth of its time).
    whole = _whole_history(request)
    now = None if whole else in_period(t.occurred_at, request)
    p = t if now is None else t.filter(now)

    def during(cond: Any) -> Any:
        return cond if now is None else now & cond

    sums = p.aggregate(**_sums(p))
    per = t.group_by("customer_id").aggregate(
        touches=t.count(where=during(t.type.isin(REACH_TYPES))),
        leads=t.count(where=during(t.type.isin(LEAD_TYPES))),
        active=t.count(where=during(t.direction == "inbound")),
        orders=t.count(where=during(t.type == "purchase")),
        **({} if whole else {"ever_bought": t.count(where=t.type == "purchase")}),
        net_revenue=t.revenue.sum() if now is None else t.revenue.sum(where=now),
        referrals=t.count(where=during(t.type == "referral")),
    )
    ever_bought = "orders" if whole else "ever_bought"  # whole history: the same count
    moves = sources.transitions
    stage = current_stage(sources, moves.filter(until_now(moves.at, request)))
    top = progression(sources)[-2:]  # loyalty and advocacy in the default model
    per = per.left_join(stage, "customer_id")
    loyal = per.key.isin(top).fill_null(False)
    people = per.aggregate(
        reached=per.count(where=per.touches > 0),
        leads=per.count(where=per.leads > 0),
        leads_won=per.count(where=(per.leads > 0) & (per[ever_bought] > 0)),
        active=per.count(where=per.active > 0),
        purchasers=per.count(where=per.orders > 0),
        repeaters=per.count(where=per.orders >= 2),
        loyal_revenue=per.net_revenue.sum(where=loyal),
        referrers=per.count(where=per.referrals > 0),
    )
    return sums, people


def _sums(p: Any) -> dict[str, Any]:
    """The KPIs' plain sums over the interactions `p` (the period's)."""
    buy = p.type == "purchase"
    contact = live_contact(p)
    took = contact & answered(p)
    resolved = p.type == FCR_TICKET_TYPE
    return {
        "touches": p.count(where=p.type.isin(REACH_TYPES)),
        "orders": p.count(where=buy),
        "order_revenue": p.revenue.sum(where=buy),
        "net_revenue": p.revenue.sum(),
        "csat_sum": p.csat.sum(),
        "csat_n": p.csat.count(),
        "nps_n": p.nps.count(),
        "promoters": p.count(where=p.nps >= surveys.PROMOTER_FROM),
        "detractors": p.count(where=p.nps <= surveys.DETRACTOR_UP_TO),
        "fcr_sum": fcr_flag(p).sum(where=resolved),
        "fcr_n": fcr_flag(p).count(where=resolved),
        "contacts": p.count(where=contact),
        "answered": p.count(where=took),
        "handle_sum": handle_time(p).sum(where=took),
        "handle_n": handle_time(p).count(where=took),
        "referrals": p.count(where=p.type == "referral"),
        "reviews": p.count(where=p.type == "review"),
    }


# What the overview shows of the KPIs, and the sums they are worked out from.
HEADLINE_SUMS = ("net_revenue", "csat_sum", "csat_n", "nps_n", "promoters", "detractors")


def headline_by_window(
    sources: Sources, request: ReportRequest, edges: list[datetime]
) -> list[dict[str, float | None]]:
    """Net revenue, CSAT and NPS in each window [edges[i], edges[i + 1]) (ascending edges, up
    to the request's "now"), each as this report gives it with that window as its period — in
    one query grouped by window rather than a report per window."""
    inter = sources.interactions
    p = inter.filter(until_now(inter.occurred_at, request) & in_windows(inter.occurred_at, edges))
    sums = {name: agg for name, agg in _sums(p).items() if name in HEADLINE_SUMS}
    grouped = p.group_by(window=window_index(p.occurred_at, edges)).aggregate(**sums)
    found = {r["window"]: r for r in to_arrow(sources, grouped).to_pylist()}
    empty = dict.fromkeys(HEADLINE_SUMS)  # a window without interactions: no sums, no answers
    return [_headline(found.get(i, empty)) for i in range(len(edges) - 1)]


def _headline(v: dict[str, Any]) -> dict[str, float | None]:
    figures = {"net_revenue": v["net_revenue"], "csat": _csat(v), "nps": _nps(v)}
    return {k: None if x is None else float(x) for k, x in figures.items()}


def _whole_history(request: ReportRequest) -> bool:
    """Whether the period [start, end) holds all history up to the request's "now"."""
    return request.start is None and (
        request.end is None or naive(request.end) >= naive(request.at)
    )


def _cart_recovery(sources: Sources, period: Any, request: ReportRequest) -> Any:
    carts = period.filter(period.type == "cart_abandoned").select(
        "customer_id", "seq", "occurred_at"
    )
    inter = sources.interactions
    buys = inter.filter((inter.type == "purchase") & until_now(inter.occurred_at, request))
    buys = buys.select(buyer=buys.customer_id, bought_at=buys.occurred_at)
    gap = buys.bought_at.epoch_seconds() - carts.occurred_at.epoch_seconds()
    pairs = carts.join(
        buys,
        [carts.customer_id == buys.buyer, gap > 0, gap <= RECOVERY_DAYS * DAY_S],
    )
    won = pairs.select(won_seq=pairs.seq).distinct()
    marked = carts.left_join(won, carts.seq == won.won_seq)
    return marked.aggregate(
        carts=marked.count(), carts_recovered=marked.count(where=marked.won_seq.notnull())
    )


def _resolution(sources: Sources, period: Any) -> Any:
    """Median hours from ticket_opened to ticket_resolved, for tickets resolved in the period."""
    inter = sources.interactions
    opened = inter.filter((inter.type == "ticket_opened") & inter.ticket_id.notnull())
    opened = opened.group_by("ticket_id").aggregate(opened_at=opened.occurred_at.min())
    done = period.filter((period.type == "ticket_resolved") & period.ticket_id.notnull())
    done = done.group_by("ticket_id").aggregate(resolved_at=done.occurred_at.min())
    both = done.join(opened, "ticket_id")
    both = both.mutate(
        hours=(both.resolved_at.epoch_seconds() - both.opened_at.epoch_seconds()) / 3600.0
    )
    return nearest_rank(sources, both, "hours", [], {"resolution_hours": 0.5})


def _rows(v: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    names = (stages + ["reach", "acquisition", "conversion", "retention", "loyalty"])[:5]
    reach, acquisition, conversion, retention, loyalty = names
    metrics = [
        (reach, "touches", v["touches"], "count"),
        (reach, "customers_reached", v["reached"], "customers"),
        (acquisition, "leads", v["leads"], "customers"),
        (acquisition, "lead_to_customer_rate", ratio(v["leads_won"], v["leads"]), "ratio"),
        (conversion, "purchasers", v["purchasers"], "customers"),
        (conversion, "orders", v["orders"], "count"),
        (conversion, "net_revenue", v["net_revenue"], "money"),
        (conversion, "average_order_value", ratio(v["order_revenue"], v["orders"]), "money"),
        (conversion, "conversion_rate", ratio(v["purchasers"], v["active"]), "ratio"),
        (conversion, "abandoned_cart_recovery", ratio(v["carts_recovered"], v["carts"]), "ratio"),
        (retention, "repeat_purchase_rate", ratio(v["repeaters"], v["purchasers"]), "ratio"),
        (retention, "csat", _csat(v), "1-5"),
        (retention, "first_contact_resolution", ratio(v["fcr_sum"], v["fcr_n"]), "ratio"),
        (retention, "answer_rate", ratio(v["answered"], v["contacts"]), "ratio"),
        (
            retention,
            "handle_minutes",
            ratio(v["handle_sum"], 60 * (v["handle_n"] or 0)),
            "minutes",
        ),
        (retention, "resolution_hours_p50", v["resolution_hours"], "hours"),
        (loyalty, "nps", _nps(v), "-100..100"),
        (loyalty, "referral_rate", ratio(v["referrers"], v["active"]), "ratio"),
        (loyalty, "referrals", v["referrals"], "count"),
        (loyalty, "reviews", v["reviews"], "count"),
        (loyalty, "loyal_revenue_share", ratio(v["loyal_revenue"], v["net_revenue"]), "ratio"),
    ]
    return [
        {"stage": s, "kpi": k, "value": None if x is None else float(x), "unit": u}
        for s, k, x, u in metrics
    ]


def _csat(v: dict[str, Any]) -> float | None:
    return surveys.csat_score(v["csat_sum"], v["csat_n"])


def _nps(v: dict[str, Any]) -> float | None:
    return surveys.nps_score(v["promoters"], v["detractors"], v["nps_n"])


SPEC = register(
    ReportSpec(
        name="kpis",
        title="KPIs by stage",
        description="The metric set per lifecycle stage for the period: reach, acquisition, "
        "conversion, retention and loyalty KPIs.",
        run=run,
        plot=plots.kpis,
    )
)
