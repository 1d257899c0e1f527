"""Marketing touches of a journey: ads, web browsing, social engagement and marketing email."""

from __future__ import annotations

from random import Random
from typing import Any

from touchpoint.demo.catalog import BROWSE_PAGES, CAMPAIGNS, Campaign
from touchpoint.demo.timeline import DAY, HOUR, MINUTE, Timeline

CAMPAIGN_WEIGHTS = [c.weight for c in CAMPAIGNS]


def pick_campaign(rng: Random) -> Campaign:
    return rng.choices(CAMPAIGNS, CAMPAIGN_WEIGHTS)[0]


def utm(campaign: Campaign, rng: Random) -> dict[str, Any]:
    """The attribution of one touch of a campaign: a keyword and a creative from it."""
    result: dict[str, Any] = {
        "source": campaign.source,
        "medium": campaign.medium,
        "campaign": campaign.name,
    }
    if campaign.keywords:
        result["keyword"] = rng.choice(campaign.keywords)
    if campaign.creatives:
        result["creative"] = rng.choice(campaign.creatives)
    return result


def ad_touch(
    tl: Timeline, ts: float, campaign: Campaign, *, device: int = 0, click_rate: float = 0.75
) -> float | None:
    """Impressions of an ad (or a sponsored newsletter slot), maybe a click through to the
    landing page; returns when the landing page was seen, or None if they never clicked."""
    rng = tl.rng
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        tl.emit(
            ts,
            "ad_impression",
            "ad",
            tl.web(device),
            direction="outbound",
            attribution=utm(campaign, rng),
        )
        ts = tl.later(ts, 2 * HOUR, 3 * DAY)
    if rng.random() >= click_rate:
        return None
    attribution = utm(campaign, rng)
    tl.emit(ts, "ad_click", "ad", tl.web(device), attribution=attribution)
    tl.emit(
        ts + 2,
        "page_view",
        "web",
        tl.web(device),
        attribution=attribution,
        properties={"url": campaign.landing},
    )
    return ts + 2


def browse(
    tl: Timeline, ts: float, pages: int, *, device: int = 0, pool: tuple[str, ...] = BROWSE_PAGES
) -> float:
    """A web session of a few page views; returns when it ended."""
    rng = tl.rng
    for _ in range(pages):
        ts += rng.uniform(15, 4 * MINUTE)
        tl.emit(ts, "page_view", "web", tl.web(device), properties={"url": rng.choice(pool)})
    return ts


def social_engagement(tl: Timeline, ts: float, times: int) -> float:
    """Likes, comments and shares of the brand's posts, known only by the social handle."""
    rng = tl.rng
    network = next(iter(tl.person.handles))
    for _ in range(times):
        action = rng.choice(("like", "like", "comment", "share", "follow"))
        post = f"post-{rng.randrange(1, 400)}"
        tl.emit(
            ts,
            "social_engagement",
            "social",
            tl.by_handle(),
            properties={"network": network, "action": action, "post": post},
        )
        ts = tl.later(ts, HOUR, 6 * DAY)
    return ts


def marketing_email(
    tl: Timeline,
    ts: float,
    template: str,
    *,
    open_rate: float,
    campaign: Campaign | None = None,
    url: str = "/",
) -> bool:
    """Send one marketing email; the reader may open it and click through. True if clicked."""
    rng = tl.rng
    attribution = utm(campaign, rng) if campaign else None
    props = {"template": template}
    if not tl.emit(
        ts,
        "email_sent",
        "email",
        tl.by_email(),
        direction="outbound",
        attribution=attribution,
        properties=props,
    ):
        return False
    if rng.random() >= open_rate:
        return False
    opened = tl.later(ts, 5 * MINUTE, 2 * DAY)
    tl.emit(
        opened, "email_opened", "email", tl.by_email(), attribution=attribution, properties=props
    )
    if rng.random() >= 0.22:
        return False
    clicked = opened + rng.uniform(5, 120)
    tl.emit(
        clicked,
        "email_clicked",
        "email",
        tl.by_email(),
        attribution=attribution,
        properties=props | {"url": url},
    )
    tl.emit(
        clicked + 3, "page_view", "web", tl.web(), attribution=attribution, properties={"url": url}
    )
    return True
