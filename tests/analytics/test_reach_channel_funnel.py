"""`report funnel --by channel` groups customers by the reach channel of their first touch (the
GA4-style group of its medium, issue 16), not by the raw interaction channel: counts by hand."""

from __future__ import annotations

from typing import Any

from tests.analytics.conftest import Lab, day
from tests.builders import interaction


def _i(who: str, type: str, at: Any, medium: str | None = None) -> dict[str, Any]:
    tags = {"attribution": {"source": "somewhere", "medium": medium}} if medium else {}
    return interaction(type=type, channel="web", at=at, external_id=who, **tags)


def test_funnel_by_channel_counts_each_first_touch_reach_channel(lab: Lab) -> None:
    lab.ingest(
        [
            _i("p1", "page_view", day(1, 1), "organic"),  # Organic Search
            _i("p1", "signup", day(1, 2)),
            _i("p1", "purchase", day(1, 3)),
            _i("p2", "page_view", day(1, 1), "cpc"),  # Paid Search
            _i("p2", "signup", day(1, 2)),
            _i("p3", "page_view", day(1, 1)),  # untagged first ...
            _i("p3", "page_view", day(1, 2), "social"),  # ... first touch: Organic Social
            _i("p4", "page_view", day(1, 1)),  # never tagged: Direct
            _i("p4", "signup", day(1, 2)),
            _i("p4", "purchase", day(1, 3)),
            _i("p5", "page_view", day(1, 1), "organic"),  # Organic Search
            _i("p5", "page_view", day(1, 4), "cpc"),  # later touches do not move it
        ]
    )
    rows = lab.rows("funnel", by="channel")
    reached = {(r["by"], r["stage"]): r["customers"] for r in rows}
    assert {r["by"] for r in rows} == {"Organic Search", "Paid Search", "Organic Social", "Direct"}
    stages = ("reach", "acquisition", "conversion")
    assert [reached[("Organic Search", s)] for s in stages] == [2, 1, 1]  # p1, p5
    assert [reached[("Paid Search", s)] for s in stages] == [1, 1, 0]  # p2
    assert [reached[("Organic Social", s)] for s in stages] == [1, 0, 0]  # p3
    assert [reached[("Direct", s)] for s in stages] == [1, 1, 1]  # p4
