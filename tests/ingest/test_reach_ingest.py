"""Reach channels applied at ingest: an untagged web visit (Segment's context.page, or the
`referrer`/`url` properties of Touchpoint's own shape) is stored with the source, medium and
keyword the referrer table gives; UTM tags and an explicit attribution win; the site's own
domain stores none; a user's table file overrides the shipped one. Both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from touchpoint.ingest.segment import load_event_map, segment_to_interaction
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

AT = "2026-11-30T10:00:00Z"
COLUMNS = ("source", "medium", "campaign", "keyword", "creative")


def stored(tp: Touchpoint, iid: str) -> dict[str, Any]:
    cols = [getattr(interactions.c, c) for c in COLUMNS]
    with read_connection(tp.engine) as conn:
        row = conn.execute(select(*cols).where(interactions.c.id == iid)).one()
    return {k: v for k, v in zip(COLUMNS, row, strict=True) if v is not None}


def page_view(iid: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": iid,
        "type": "page_view",
        "channel": "web",
        "occurred_at": AT,
        "customer": {"anonymous_id": f"anon-{iid}"},
        "properties": properties,
    }


def segment(iid: str, kind: str, page: dict[str, Any], **fields: Any) -> dict[str, Any]:
    message = {
        "type": kind,
        "messageId": iid,
        "anonymousId": f"anon-{iid}",
        "timestamp": AT,
        "context": {"page": page},
        **fields,
    }
    return segment_to_interaction(message, load_event_map())


def test_untagged_page_views_get_source_medium_and_keyword_from_the_referrer(
    tp: Touchpoint,
) -> None:
    items = [
        page_view(
            "p1",
            url="https://shop.example.com/pricing",
            referrer="https://www.bing.com/search?q=crm+pricing&form=QBLH",
        ),
        page_view("p2", url="https://shop.example.com/", referrer="https://t.co/Xy7Qz3Lm9P"),
        page_view("p3", url="https://shop.example.com/", referrer="https://shop.example.com/a"),
        page_view("p4", url="https://shop.example.com/?msclkid=e5f6"),
        page_view(
            "p5",
            url="https://shop.example.com/?utm_source=partner&utm_medium=banner&utm_content=v2",
            referrer="https://www.google.com/",
        ),
    ]
    tp.ingestor.ingest(enumerate(items))
    assert stored(tp, "p1") == {"source": "bing", "medium": "organic", "keyword": "crm pricing"}
    assert stored(tp, "p2") == {"source": "x", "medium": "social", "creative": "Xy7Qz3Lm9P"}
    assert stored(tp, "p3") == {}  # own domain: direct
    assert stored(tp, "p4") == {"source": "bing", "medium": "cpc"}
    assert stored(tp, "p5") == {"source": "partner", "medium": "banner", "creative": "v2"}


def test_an_explicit_attribution_and_other_channels_are_left_as_sent(tp: Touchpoint) -> None:
    tagged = page_view("t1", referrer="https://www.google.com/")
    tagged["attribution"] = {"source": "newsletter", "medium": "email"}
    call = {**page_view("t2", referrer="https://www.google.com/"), "channel": "phone"}
    call["type"] = "call"
    tp.ingestor.ingest(enumerate([tagged, call]))
    assert stored(tp, "t1") == {"source": "newsletter", "medium": "email"}
    assert stored(tp, "t2") == {}


def test_segment_track_on_the_landing_page_is_attributed_from_context_page(
    tp: Touchpoint,
) -> None:
    landing = {
        "url": "https://shop.example.com/signup",
        "referrer": "https://www.linkedin.com/feed/update/urn:li:activity:7135012345678901234/",
    }
    tagged = {
        "url": "https://shop.example.com/?utm_source=google&utm_medium=cpc",
        "referrer": "https://www.reddit.com/",
    }
    items = [
        segment("s1", "track", landing, event="Signed Up"),
        segment("s2", "page", {"url": "https://shop.example.com/", "referrer": ""}),
        segment("s3", "page", tagged, context={"page": tagged, "campaign": {"source": "google"}}),
    ]
    tp.ingestor.ingest(enumerate(items))
    assert stored(tp, "s1") == {
        "source": "linkedin",
        "medium": "social",
        "creative": "7135012345678901234",
    }
    assert stored(tp, "s2") == {}
    assert stored(tp, "s3") == {"source": "google"}  # context.campaign: UTM as analytics.js sent


def test_a_users_reach_table_overrides_the_shipped_one(settings: Settings, tmp_path: Path) -> None:
    user = tmp_path / "reach.toml"
    user.write_text('[sources.bing]\nmedium = "referral"\nhosts = ["bing.com"]\n')
    tp = open_touchpoint(settings.model_copy(update={"reach_channels_file": user}))
    try:
        tp.ingestor.ingest(enumerate([page_view("u1", referrer="https://www.bing.com/")]))
        assert stored(tp, "u1") == {"source": "bing", "medium": "referral"}
    finally:
        tp.close()
