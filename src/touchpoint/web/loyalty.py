"""Loyalty: customers per tier now (the tier last set, beside what qualifies for each tier of
<data dir>/loyalty.toml) and how many the tier job would move, and the referrals — rewarded,
waiting for the referred customer's first purchase, or neither. The same service as `touchpoint
loyalty tiers|referrals`; counts only, no customer is shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.domain.loyalty import Tier
from touchpoint.services import loyalty as loyalty_service
from touchpoint.services.access import Principal
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()
NO_TIER = "no tier"


def qualifies(rule: Tier | None) -> str:
    """What qualifies for a tier, in words."""
    if rule is None:
        return "set by playbooks"
    met = []
    if rule.points is not None:
        met.append(f"{rule.points:,} points")
    if rule.spend is not None:
        met.append(f"{rule.spend:,.2f} spent in 12 months")
    return " or ".join(met)


@router.get("/loyalty", response_class=HTMLResponse)
def loyalty(
    request: Request, who: Annotated[Principal, signed_in("analytics.read")]
) -> HTMLResponse:
    """Customers per tier and the referrals, now."""
    found = loyalty_service.summary(touchpoint_of(request))
    tiers = [(t.tier or NO_TIER, t.customers) for t in found.tiers]
    r = found.referrals
    states = [
        ("rewarded", r.rewarded),
        ("waiting", r.waiting),
        ("bought, not rewarded", r.unrewarded),
    ]
    return page(
        request,
        "loyalty.html",
        who,
        summary=found,
        qualifies=qualifies,
        no_tier=NO_TIER,
        tier_chart=chart(
            charts.category_counts("Customers per tier now", tiers, "tier"), "tiers-chart"
        ),
        referral_chart=(
            chart(
                charts.category_counts("Referred customers", states, "referral"), "referrals-chart"
            )
            if r.referred
            else None
        ),
    )
