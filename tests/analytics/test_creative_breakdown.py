"""Which creatives (utm_content, or the social post a referrer names) bring customers who convert
(issue 16): `--by creative` groups customers by the first creative that touched them, in the
funnel, and attribution credits each creative by the five models. Counts by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction
from touchpoint.analytics.attribution import MODELS


def _i(who: str, type: str, at: Any, creative: str | None = None) -> dict[str, Any]:
    tags = (
        {
            "attribution": {
                "source": "meta",
                "medium": "paid_social",
                "campaign": "spring",
                "creative": creative,
            }
        }
        if creative
        else {}
    )
    return interaction(type=type, channel="web", at=at, external_id=who, **tags)


SHOP = [
    _i("p1", "page_view", day(1, 1), "video-a"),
    _i("p1", "signup", day(1, 2)),
    _i("p1", "purchase", day(1, 3)),
    _i("p2", "page_view", day(1, 1), "video-a"),
    _i("p2", "signup", day(1, 2)),
    _i("p3", "page_view", day(1, 1), "banner-b"),
    _i("p3", "signup", day(1, 2)),
    _i("p3", "purchase", day(1, 3)),
    _i("p4", "page_view", day(1, 1)),  # never touched by a creative: "(none)"
    _i("p4", "signup", day(1, 2)),
    _i("p5", "page_view", day(1, 1), "banner-b"),  # the first creative is the one counted ...
    _i("p5", "page_view", day(1, 4), "video-a"),  # ... a later one does not move them
]


def test_funnel_by_creative_counts_customers_by_their_first_creative(lab: Lab) -> None:
    lab.ingest(SHOP)
    rows = lab.rows("funnel", by="creative")
    reached = {(r["by"], r["stage"]): r["customers"] for r in rows}
    assert {r["by"] for r in rows} == {"video-a", "banner-b", "(none)"}
    stages = ("reach", "acquisition", "conversion")
    assert [reached[("video-a", s)] for s in stages] == [2, 2, 1]  # p1, p2
    assert [reached[("banner-b", s)] for s in stages] == [2, 1, 1]  # p3, p5
    assert [reached[("(none)", s)] for s in stages] == [1, 1, 0]  # p4


def test_attribution_by_creative_credits_the_creative_before_each_first_purchase(
    lab: Lab,
) -> None:
    lab.ingest(SHOP)
    rows = {r["creative"]: r for r in lab.rows("attribution", by="creative", end=day(2, 1))}
    # Two conversions, each after one touch: p1's (video-a) and p3's (banner-b); p5's later
    # video-a view comes after no purchase, so it is credited nothing.
    assert set(rows) == {"video-a", "banner-b"}
    for creative in ("video-a", "banner-b"):
        assert rows[creative]["touches"] == 1
        for model in MODELS:
            assert rows[creative][model] == pytest.approx(1.0), (creative, model)
