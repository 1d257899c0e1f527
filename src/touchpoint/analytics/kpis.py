"""KPIs by lifecycle stage for a period: the metric set that says how each stage performs.

reach: touches (ad clicks, page views, social engagement) and customers reached;
acquisition: leads (signups and lead forms) and the share of those leads who have bought;
conversion: purchasers, orders, net revenue, average order value, conversion rate (purchasers
  over active customers), abandoned-cart recovery (carts followed by a purchase within 7 days);
retention: repeat-purchase rate, CSAT, first-contact resolution, answer rate and handle time of
  calls and chats, median ticket resolution hours;
loyalty: NPS, referral rate, the share of net revenue from customers now in the last two
  progression stages.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    DAY_S,
    breakdown,
    in_period,
    nearest_rank,
    progression,
    scalar,
    to_arrow,
    until_now,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

REACH_TYPES = ("ad_click", "page_view", "social_engagement")
LEAD_TYPES = ("signup", "lead_form")
RECOVERY_DAYS = 7
SCHEMA = pa.schema(
    [("stage", pa.string()), ("kpi", pa.string()), ("value", pa.float64()), ("unit", pa.string())]
)


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    inter = sources.interactions
    period = inter.filter(in_period(inter.occurred_at, request))
    totals = _period_totals(sources, period)
    values: dict[str, Any] = dict(totals)
    values |= _lead_conversion(sources, period, request)
    values |= _cart_recovery(sources, period, request)
    values |= _repeat(sources, period)
    values |= _resolution(sources, period)
    values |= _loyal_revenue(sources, period, request)
    rows = _rows(values, progression(sources))
    return ReportResult("kpis", "KPIs by stage", pa.Table.from_pylist(rows, schema=SCHEMA))


def _period_totals(sources: Sources, t: Any) -> dict[str, Any]:
    buy = t.type == "purchase"
    inbound = t.direction == "inbound"
    contact = t.type.isin(("call", "chat")) & inbound
    expr = t.aggregate(
        touches=t.count(where=t.type.isin(REACH_TYPES)),
        reached=t.customer_id.nunique(where=t.type.isin(REACH_TYPES)),
        leads=t.customer_id.nunique(where=t.type.isin(LEAD_TYPES)),
        active=t.customer_id.nunique(where=inbound),
        purchasers=t.customer_id.nunique(where=buy),
        orders=t.count(where=buy),
        order_revenue=t.revenue.sum(where=buy),
        net_revenue=t.revenue.sum(),
        csat=t.csat.mean(),
        nps_answers=t.nps.count(),
        promoters=t.nps.count(where=t.nps >= 9),
        detractors=t.nps.count(where=t.nps <= 6),
        fcr=t.first_contact_resolution.mean(where=t.type == "ticket_resolved"),
        contacts=t.count(where=contact),
        answered=t.count(where=contact & (t.outcome == "answered")),
        handle_s=t.duration_s.mean(where=contact & (t.outcome == "answered")),
        referrers=t.customer_id.nunique(where=t.type == "referral"),
        referrals=t.count(where=t.type == "referral"),
        reviews=t.count(where=t.type == "review"),
    )
    return to_arrow(sources, expr).to_pylist()[0]


def _lead_conversion(sources: Sources, period: Any, request: ReportRequest) -> dict[str, Any]:
    """Of the period's leads, how many have made a purchase (by "now")."""
    leads = period.filter(period.type.isin(LEAD_TYPES)).select("customer_id").distinct()
    inter = sources.interactions
    buyers = inter.filter((inter.type == "purchase") & until_now(inter.occurred_at, request))
    buyers = buyers.select("customer_id").distinct()
    won = leads.semi_join(buyers, "customer_id").count()
    return {"leads_won": scalar(sources, won)}


def _cart_recovery(sources: Sources, period: Any, request: ReportRequest) -> dict[str, Any]:
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
    recovered = pairs.select("seq").distinct().count()
    return {
        "carts": scalar(sources, carts.count()),
        "carts_recovered": scalar(sources, recovered),
    }


def _repeat(sources: Sources, period: Any) -> dict[str, Any]:
    buys = period.filter(period.type == "purchase")
    per = buys.group_by("customer_id").aggregate(n=buys.count())
    expr = per.aggregate(buyers=per.count(), repeaters=per.count(where=per.n >= 2))
    return to_arrow(sources, expr).to_pylist()[0]


def _resolution(sources: Sources, period: Any) -> dict[str, Any]:
    """Median hours from ticket_opened to ticket_resolved, for tickets resolved in the period."""
    inter = sources.interactions
    opened = inter.filter((inter.type == "ticket_opened") & inter.ticket_id.notnull())
    opened = opened.group_by("ticket_id").aggregate(opened_at=opened.occurred_at.min())
    done = period.filter((period.type == "ticket_resolved") & period.ticket_id.notnull())
    done = done.group_by("ticket_id").aggregate(resolved_at=done.occurred_at.min())
    both = done.join(opened, "ticket_id")
    both = both.mutate(
        hours=(both.resolved_at.epoch_seconds() - both.opened_at.epoch_seconds()) / 3600.0,
        one=ibis.literal(1),
    )
    med = nearest_rank(both, "hours", ["one"], {"median_hours": 0.5})
    rows = to_arrow(sources, med).to_pylist()
    return {"resolution_hours": rows[0]["median_hours"] if rows else None}


def _loyal_revenue(sources: Sources, period: Any, request: ReportRequest) -> dict[str, Any]:
    """Net revenue in the period from customers whose current stage is one of the last two
    progression stages (loyalty and advocacy in the default model)."""
    top = progression(sources)[-2:]
    current = breakdown(sources, "stage")
    assert current is not None
    loyal = period.semi_join(current.filter(current.key.isin(top)), "customer_id")
    return {"loyal_revenue": scalar(sources, loyal.revenue.sum())}


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if a is not None and b else None


def _rows(v: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    names = (stages + ["reach", "acquisition", "conversion", "retention", "loyalty"])[:5]
    reach, acquisition, conversion, retention, loyalty = names
    metrics = [
        (reach, "touches", v["touches"], "count"),
        (reach, "customers_reached", v["reached"], "customers"),
        (acquisition, "leads", v["leads"], "customers"),
        (acquisition, "lead_to_customer_rate", _ratio(v["leads_won"], v["leads"]), "ratio"),
        (conversion, "purchasers", v["purchasers"], "customers"),
        (conversion, "orders", v["orders"], "count"),
        (conversion, "net_revenue", v["net_revenue"], "money"),
        (conversion, "average_order_value", _ratio(v["order_revenue"], v["orders"]), "money"),
        (conversion, "conversion_rate", _ratio(v["purchasers"], v["active"]), "ratio"),
        (conversion, "abandoned_cart_recovery", _ratio(v["carts_recovered"], v["carts"]), "ratio"),
        (retention, "repeat_purchase_rate", _ratio(v["repeaters"], v["buyers"]), "ratio"),
        (retention, "csat", v["csat"], "1-5"),
        (retention, "first_contact_resolution", v["fcr"], "ratio"),
        (retention, "answer_rate", _ratio(v["answered"], v["contacts"]), "ratio"),
        (retention, "handle_minutes", _ratio(v["handle_s"], 60), "minutes"),
        (retention, "resolution_hours_p50", v["resolution_hours"], "hours"),
        (loyalty, "nps", _nps(v), "-100..100"),
        (loyalty, "referral_rate", _ratio(v["referrers"], v["active"]), "ratio"),
        (loyalty, "referrals", v["referrals"], "count"),
        (loyalty, "reviews", v["reviews"], "count"),
        (loyalty, "loyal_revenue_share", _ratio(v["loyal_revenue"], v["net_revenue"]), "ratio"),
    ]
    return [
        {"stage": s, "kpi": k, "value": None if x is None else float(x), "unit": u}
        for s, k, x, u in metrics
    ]


def _nps(v: dict[str, Any]) -> float | None:
    answers = v["nps_answers"]
    return 100.0 * (v["promoters"] - v["detractors"]) / answers if answers else None


SPEC = register(
    ReportSpec(
        name="kpis",
        title="KPIs by stage",
        description="The metric set per lifecycle stage for the period: reach, acquisition, "
        "conversion, retention and loyalty KPIs.",
        run=run,
        plot=plots.table_figure,
        allowed_by=(),
    )
)
