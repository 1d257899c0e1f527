"""Attribution: hand-worked credits per model on a tiny history, on DuckDB, SQLite and PostgreSQL,
and every model handing out exactly one conversion per conversion."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction
from tests.postgres_server import create_database
from touchpoint.analytics.attribution import MODELS, credits, run_attribution
from touchpoint.analytics.common import to_arrow
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings


def _i(who: str, type: str, at: Any, channel: str = "web", **fields: Any) -> dict[str, Any]:
    return interaction(type=type, channel=channel, at=at, external_id=who, **fields)


def _utm(campaign: str, source: str, medium: str) -> dict[str, Any]:
    return {"attribution": {"campaign": campaign, "source": source, "medium": medium}}


def journeys() -> list[dict[str, Any]]:
    """ann: 4 touches then a first purchase (100) on Jan 15, another purchase (50) Jan 20.
    bob: an impression (outbound: not a touch), a referral, a purchase (40).
    cid: a purchase (30) with no touch before it → "(direct)".
    dan: untagged social engagement, an ad click, a purchase (60) an hour after the click."""
    search = _utm("search", "google", "cpc")
    return [
        _i("ann", "ad_click", day(1, 1), channel="ad", **search),
        # The landing page view 2 s after the click is the same touch (same tags, < 30 min).
        _i("ann", "page_view", day(1, 1) + timedelta(seconds=2), **search),
        _i("ann", "email_clicked", day(1, 3), channel="email", **_utm("weekly", "nl", "email")),
        _i(
            "ann",
            "survey_response",
            day(1, 5),
            properties={"survey": "how_did_you_hear", "answer": "podcast"},
        ),
        _i("ann", "page_view", day(1, 8), **search),
        _i("ann", "purchase", day(1, 15), revenue=100.0),
        _i("ann", "purchase", day(1, 20), revenue=50.0),
        _i(
            "bob",
            "ad_impression",
            day(1, 30),
            channel="ad",
            direction="outbound",
            **_utm("display", "google", "display"),
        ),
        _i("bob", "referral", day(2, 1), **_utm("refer-a-friend", "referral", "referral")),
        _i("bob", "purchase", day(2, 2), revenue=40.0),
        _i("cid", "purchase", day(2, 10), revenue=30.0),
        _i("dan", "social_engagement", day(3, 1, 11), channel="social"),
        _i("dan", "ad_click", day(3, 3, 12), channel="ad", **_utm("reels", "meta", "social")),
        _i("dan", "purchase", day(3, 3, 13), revenue=60.0),
    ]


@pytest.fixture(scope="module", params=["duckdb", "sqlite", "postgres"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The journeys on each engine, ingested once per module: every test here only reads."""
    data_dir = tmp_path_factory.mktemp(f"attribution-{request.param}")
    if request.param == "postgres":
        url = create_database(request.getfixturevalue("postgres_url"))
        settings = Settings(data_dir=data_dir, database_url=url)
    else:
        settings = Settings(data_dir=data_dir)
    tp = open_touchpoint(settings)
    lab = Lab(tp, request.param)
    lab.ingest(journeys())
    yield lab
    tp.close()


def decay(age_days: float) -> float:
    return 2 ** (-age_days / 7)


# ann's touches, days before the purchase on Jan 15: search 14, weekly 12, podcast 10, search 7.
ANN_W = {"search": decay(14) + decay(7), "weekly": decay(12), "podcast / survey": decay(10)}
ANN_SUM = sum(ANN_W.values())  # 0.25 + 0.5 + 0.30475 + 0.37150 = 1.42625
# dan's touches: social engagement 2 d 2 h before the purchase, the reels click 1 h before.
DAN_W = {"social / engagement": decay(2 + 2 / 24), "reels": decay(1 / 24)}
DAN_SUM = sum(DAN_W.values())

EXPECTED = {
    #                      first last  linear          position       time decay
    "search": (1.0, 1.0, 2 * 0.25, 0.4 + 0.4, ANN_W["search"] / ANN_SUM),
    "weekly": (0.0, 0.0, 0.25, 0.1, ANN_W["weekly"] / ANN_SUM),
    # position, 4 touches: 40 % first, 40 % last, the middle two share 20 % → 0.1 each
    "podcast / survey": (0.0, 0.0, 0.25, 0.1, ANN_W["podcast / survey"] / ANN_SUM),
    # bob: one touch gets everything; the outbound impression is not a touch
    "refer-a-friend": (1.0, 1.0, 1.0, 1.0, 1.0),
    "(direct)": (1.0, 1.0, 1.0, 1.0, 1.0),
    # dan: two touches → 50/50 position-based
    "social / engagement": (1.0, 0.0, 0.5, 0.5, DAN_W["social / engagement"] / DAN_SUM),
    "reels": (0.0, 1.0, 0.5, 0.5, DAN_W["reels"] / DAN_SUM),
}
REVENUE = {"search": 100, "weekly": 100, "podcast / survey": 100, "refer-a-friend": 40}
REVENUE |= {"(direct)": 30, "social / engagement": 60, "reels": 60}


def test_each_model_credits_conversions_as_worked_by_hand(shop: Lab) -> None:
    rows = {r["campaign"]: r for r in shop.rows("attribution", end=day(4, 1))}
    assert set(rows) == set(EXPECTED)
    for label, credit in EXPECTED.items():
        for model, expected in zip(MODELS, credit, strict=True):
            assert rows[label][model] == pytest.approx(expected, abs=1e-6), (label, model)
            revenue = rows[label][f"{model}_revenue"]
            assert revenue == pytest.approx(expected * REVENUE[label], abs=1e-4), (label, model)
    assert rows["search"]["touches"] == 2  # the landing page view merged into the click


def test_breakdown_by_channel_uses_reach_channels(shop: Lab) -> None:
    rows = {r["channel"]: r for r in shop.rows("attribution", by="channel", end=day(4, 1))}
    # ann's 4 touches: cpc click (Paid Search), email click (Email), survey answer (Survey), cpc
    # page view (Paid Search); bob: referral (Referral); cid: none (Direct); dan: untagged social
    # engagement and a click with medium "social" (both Organic Social).
    assert rows["Paid Search"]["first_touch"] == pytest.approx(1.0)
    assert rows["Paid Search"]["last_touch"] == pytest.approx(1.0)
    assert rows["Paid Search"]["linear"] == pytest.approx(0.25 + 0.25)
    assert rows["Email"]["linear"] == pytest.approx(0.25)
    assert rows["Survey"]["linear"] == pytest.approx(0.25)
    assert rows["Referral"]["first_touch"] == pytest.approx(1.0)
    assert rows["Organic Social"]["first_touch"] == pytest.approx(1.0)
    assert rows["Organic Social"]["linear"] == pytest.approx(1.0)
    assert rows["Direct"]["linear"] == pytest.approx(1.0)
    assert set(rows) == {"Paid Search", "Email", "Survey", "Referral", "Organic Social", "Direct"}


def test_breakdown_by_source_counts_survey_answers_as_their_own_source(shop: Lab) -> None:
    request = make_request(report_spec("attribution"), end=day(4, 1), at=day(6, 1))
    with open_sources(shop.tp.settings, shop.engine) as sources:
        result = run_attribution(sources, dataclasses.replace(request, by="source"))
    rows = {r["source"]: r for r in result.table.to_pylist()}
    assert set(rows) == {"google", "nl", "podcast", "referral", "(direct)", "social", "meta"}
    assert rows["podcast"]["linear"] == pytest.approx(0.25)
    assert rows["google"]["position"] == pytest.approx(0.8)


def test_period_selects_conversions_not_touches(shop: Lab) -> None:
    # Only dan converts in March; his social touch counts though the period starts after it.
    rows = {r["campaign"]: r for r in shop.rows("attribution", start=day(3, 2), end=day(4, 1))}
    assert set(rows) == {"social / engagement", "reels"}


def _credits(lab: Lab, **options: Any) -> list[dict[str, Any]]:
    request = make_request(report_spec("attribution"), end=day(4, 1), at=day(6, 1))
    with open_sources(lab.tp.settings, lab.engine) as sources:
        expr = credits(sources.interactions, request, **options)
        return to_arrow(sources, expr).to_pylist()


@pytest.mark.parametrize("every_purchase", [False, True])
def test_credits_per_conversion_sum_to_one_in_every_model(shop: Lab, every_purchase: bool) -> None:
    rows = _credits(shop, every_purchase=every_purchase, half_life_days=3.0)
    totals: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MODELS, 0.0))
    for row in rows:
        for model in MODELS:
            totals[row["conversion_seq"]][model] += row[model]
    assert len(totals) == (5 if every_purchase else 4)
    for per_model in totals.values():
        for model, total in per_model.items():
            assert total == pytest.approx(1.0), model


def test_every_purchase_credits_only_touches_since_the_previous_one(shop: Lab) -> None:
    rows = _credits(shop, every_purchase=True)
    second = [r for r in rows if r["conversion_at"].day == 20]
    assert [(r["campaign"], r["linear"]) for r in second] == [("(direct)", 1.0)]


def test_lookback_drops_older_touches(shop: Lab) -> None:
    rows = _credits(shop, lookback_days=11)
    ann = sorted(r["campaign"] for r in rows if r["revenue"] == 100.0)
    assert ann == ["podcast / survey", "search"]  # Jan 5 and Jan 8; Jan 1 and 3 are too old
