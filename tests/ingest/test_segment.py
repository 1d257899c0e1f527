"""Segment messages → interactions: each call kind, the event table, bad messages, config errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.errors import ConfigError, ValidationError
from touchpoint.ingest.prepare import RECEIPT_TIME
from touchpoint.ingest.schema import InteractionIn
from touchpoint.ingest.segment import (
    SegmentEventMap,
    is_segment_message,
    load_event_map,
    segment_to_interaction,
    with_batch_defaults,
)
from touchpoint.runtime import Touchpoint
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, interactions, merges

AT = "2026-03-01T09:30:00.000Z"


@pytest.fixture(scope="module")
def events() -> SegmentEventMap:
    return load_event_map()


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A Segment call as an SDK sends it, by user-1 unless told otherwise; None drops a field."""
    msg = {"type": kind, "messageId": f"msg-{kind}", "timestamp": AT, "userId": "user-1", **fields}
    return {k: v for k, v in msg.items() if v is not None}


def track(event: str, **fields: Any) -> dict[str, Any]:
    return message("track", event=event, **fields)


def translate(msg: dict[str, Any], events: SegmentEventMap, **kwargs: Any) -> dict[str, Any]:
    out = segment_to_interaction(msg, events, **kwargs)
    # every translation is a valid interaction (with, at most, the mark that its moment is when
    # it was received, which the ingest pipeline takes off)
    InteractionIn.model_validate({k: v for k, v in out.items() if k != RECEIPT_TIME})
    return out


def reason(msg: dict[str, Any], events: SegmentEventMap) -> str:
    with pytest.raises(ValidationError) as caught:
        segment_to_interaction(msg, events)
    return str(caught.value)


# --- call kinds -------------------------------------------------------------------------------


def test_identify_sets_identities_and_profile_traits(events: SegmentEventMap) -> None:
    msg = message(
        "identify",
        anonymousId="anon-1",
        traits={
            "email": "ann@example.com",
            "phone": "+14155550134",
            "firstName": "Ann",
            "plan": "pro",
        },
    )
    out = translate(msg, events)
    assert out["type"] == "identify"
    assert out["customer"] == {
        "external_id": "user-1",
        "anonymous_id": "anon-1",
        "email": "ann@example.com",
        "phone": "+14155550134",
    }
    assert out["traits"] == {
        "email": "ann@example.com",
        "phone": "+14155550134",
        "first_name": "Ann",
        "plan": "pro",
    }
    assert (out["channel"], out["direction"]) == ("web", "inbound")


def test_message_id_becomes_the_interaction_id(events: SegmentEventMap) -> None:
    assert translate(track("Signed Up", messageId="abc-123"), events)["id"] == "abc-123"


def test_message_without_message_id_gets_no_id_so_a_content_id_is_derived(
    events: SegmentEventMap,
) -> None:
    msg = track("Signed Up")
    del msg["messageId"]
    assert "id" not in translate(msg, events)


def test_numeric_user_id_is_kept_as_text(events: SegmentEventMap) -> None:
    assert translate(track("Signed Up", userId=42), events)["customer"] == {"external_id": "42"}


def test_order_completed_is_a_purchase_with_revenue_and_currency(events: SegmentEventMap) -> None:
    msg = track(
        "Order Completed",
        properties={"order_id": "o-1", "total": 120.0, "revenue": 99.5, "currency": "eur"},
    )
    out = translate(msg, events)
    assert out["type"] == "purchase"
    assert out["name"] == "Order Completed"
    assert (out["revenue"], out["currency"]) == (99.5, "EUR")
    assert out["properties"]["order_id"] == "o-1"


def test_order_completed_without_revenue_falls_back_to_total(events: SegmentEventMap) -> None:
    out = translate(track("Order Completed", properties={"total": "30.25"}), events)
    assert out["revenue"] == 30.25


def test_revenue_without_currency_is_in_us_dollars(events: SegmentEventMap) -> None:
    assert (
        translate(track("Order Completed", properties={"revenue": 5}), events)["currency"] == "USD"
    )


def test_order_refunded_is_a_refund_with_negative_revenue(events: SegmentEventMap) -> None:
    out = translate(track("Order Refunded", properties={"total": 20, "currency": "GBP"}), events)
    assert (out["type"], out["revenue"], out["currency"]) == ("refund", -20.0, "GBP")


def test_order_cancelled_gives_the_money_back_as_negative_revenue(events: SegmentEventMap) -> None:
    out = translate(track("Order Cancelled", properties={"total": 20}), events)
    assert (out["type"], out["revenue"]) == ("order_cancelled", -20.0)


def test_revenue_on_any_track_event_is_kept(events: SegmentEventMap) -> None:
    out = translate(track("Plan Upgraded", properties={"revenue": 9}), events)
    assert (out["type"], out["revenue"]) == ("custom", 9.0)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("Product Viewed", "product_viewed"),
        ("Product Added", "cart_added"),
        ("Cart Viewed", "page_view"),
        ("Checkout Started", "checkout_started"),
        ("Order Completed", "purchase"),
        ("Order Refunded", "refund"),
        ("Order Cancelled", "order_cancelled"),
        ("Promotion Clicked", "ad_click"),
        ("Product Reviewed", "review"),
        ("Review Submitted", "review"),
        ("Signed Up", "signup"),
        ("Account Created", "signup"),
        ("Trial Started", "trial_started"),
        ("Subscription Cancelled", "cancellation"),
        ("Account Deleted", "cancellation"),
        ("Invite Sent", "referral"),
        ("Referral", "referral"),
        ("Email Opened", "email_opened"),
    ],
)
def test_semantic_events_map_to_interaction_types(
    events: SegmentEventMap, event: str, expected: str
) -> None:
    assert translate(track(event), events)["type"] == expected


def test_table_entry_sets_channel_and_direction(events: SegmentEventMap) -> None:
    out = translate(track("Email Delivered"), events)
    assert (out["type"], out["channel"], out["direction"]) == ("email_sent", "email", "outbound")


def test_event_names_match_ignoring_case_and_separators(events: SegmentEventMap) -> None:
    assert translate(track("order_completed"), events)["type"] == "purchase"
    assert translate(track("  signed-UP "), events)["type"] == "signup"


def test_unknown_track_event_is_custom_with_its_name(events: SegmentEventMap) -> None:
    out = translate(track("Dashboard Exported", properties={"format": "pdf"}), events)
    assert (out["type"], out["name"], out["properties"]) == (
        "custom",
        "Dashboard Exported",
        {"format": "pdf"},
    )


def test_page_is_a_page_view_keeping_url_path_title_and_name(events: SegmentEventMap) -> None:
    props = {"url": "https://shop.example/pricing", "path": "/pricing", "title": "Pricing"}
    out = translate(message("page", name="Pricing", category="Docs", properties=props), events)
    assert (out["type"], out["channel"], out["name"]) == ("page_view", "web", "Pricing")
    assert out["properties"] == {**props, "category": "Docs"}


def test_screen_is_a_page_view_in_the_mobile_app(events: SegmentEventMap) -> None:
    out = translate(message("screen", name="Home"), events)
    assert (out["type"], out["channel"], out["name"]) == ("page_view", "mobile_app", "Home")


def test_events_from_a_mobile_device_are_on_the_mobile_app_channel(events: SegmentEventMap) -> None:
    msg = track("Signed Up", context={"os": {"name": "iOS"}, "device": {"type": "ios"}})
    assert translate(msg, events)["channel"] == "mobile_app"


def test_campaign_context_becomes_attribution(events: SegmentEventMap) -> None:
    campaign = {
        "name": "spring_sale",
        "source": "google",
        "medium": "cpc",
        "term": "running shoes",
        "content": "banner-a",
    }
    out = translate(message("page", context={"campaign": campaign}), events)
    assert out["attribution"] == {
        "campaign": "spring_sale",
        "source": "google",
        "medium": "cpc",
        "keyword": "running shoes",
        "creative": "banner-a",
    }


def test_email_in_context_traits_identifies_the_customer(events: SegmentEventMap) -> None:
    context = {"traits": {"email": "bo@example.com"}}
    msg = track("Signed Up", userId=None, anonymousId="anon-9", context=context)
    out = translate(msg, events)
    assert out["customer"] == {"anonymous_id": "anon-9", "email": "bo@example.com"}
    assert "traits" not in out  # context traits identify; only identify calls set the profile


def test_alias_names_the_user_and_keeps_previous_id_for_ingest_to_link(
    events: SegmentEventMap,
) -> None:
    out = translate(message("alias", previousId="anon-7", userId="user-1"), events)
    assert out["type"] == "alias"
    # previousId may be an anonymous id or an earlier user id: ingest links whichever exists
    assert out["customer"] == {"external_id": "user-1"}
    assert out["properties"] == {"previous_id": "anon-7"}


def test_alias_keeps_the_devices_own_anonymous_id(events: SegmentEventMap) -> None:
    msg = message("alias", previousId="old-user", userId="new-user", anonymousId="anon-3")
    out = translate(msg, events)
    assert out["customer"] == {"external_id": "new-user", "anonymous_id": "anon-3"}
    assert out["properties"] == {"previous_id": "old-user"}


def test_group_is_a_custom_interaction_with_the_group_in_properties(
    events: SegmentEventMap,
) -> None:
    out = translate(
        message(
            "group", groupId="acct-9", traits={"name": "Initech", "email": "ops@initech.example"}
        ),
        events,
    )
    assert (out["type"], out["name"]) == ("custom", "group")
    assert out["properties"] == {
        "group_id": "acct-9",
        "traits": {"name": "Initech", "email": "ops@initech.example"},
    }
    assert out["customer"] == {"external_id": "user-1"}  # the group's email is not the user's


# --- timestamps -------------------------------------------------------------------------------


def test_timestamp_becomes_occurred_at(events: SegmentEventMap) -> None:
    out = translate(track("Signed Up", timestamp="2026-03-01T10:30:00+01:00"), events)
    assert datetime.fromisoformat(out["occurred_at"]) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("field", ["originalTimestamp", "sentAt"])
def test_missing_timestamp_falls_back_to_original_timestamp_then_sent_at(
    events: SegmentEventMap, field: str
) -> None:
    msg = track("Signed Up", **{field: "2026-02-02T02:02:02Z"})
    del msg["timestamp"]
    assert translate(msg, events)["occurred_at"] == "2026-02-02T02:02:02+00:00"


def test_message_without_any_time_happened_when_received(events: SegmentEventMap) -> None:
    msg = track("Signed Up")
    del msg["timestamp"]
    received = datetime(2026, 4, 4, 4, 4, tzinfo=UTC)
    assert translate(msg, events, received_at=received)["occurred_at"] == received.isoformat()


def test_timestamp_without_offset_is_utc_as_segment_specifies(events: SegmentEventMap) -> None:
    out = translate(track("Signed Up", timestamp="2026-03-01T09:30:00"), events)
    assert out["occurred_at"] == "2026-03-01T09:30:00+00:00"


# --- bad messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({"type": "track", "event": "Signed Up"}, "userId, anonymousId: a track call needs"),
        (track(""), "event: a track call needs the event name"),
        (track("Signed Up", timestamp="yesterday"), "timestamp: not an ISO-8601 date-time"),
        (track("Signed Up", properties=["a"]), "properties: must be an object"),
        (
            track("Order Completed", properties={"revenue": "lots"}),
            "properties.revenue: must be a number",
        ),
        (
            track("Order Completed", properties={"revenue": 1, "currency": "dollars"}),
            "properties.currency: must be a 3-letter ISO 4217 code",
        ),
        (message("alias", userId="user-1"), "previousId, userId: an alias call needs both"),
        (message("group"), "groupId: a group call needs"),
        (message("identify", traits="ann"), "traits: must be an object"),
        (track("Signed Up", context={"campaign": "x"}), "context.campaign: must be an object"),
        (track("Signed Up", userId={"id": 1}), "userId: must be a string"),
        ({"type": "purchase", "userId": "u"}, "type: must be one of identify, track"),
    ],
)
def test_bad_messages_are_refused_with_the_field_named(
    events: SegmentEventMap, msg: dict[str, Any], expected: str
) -> None:
    assert expected in reason(msg, events)


# --- recognising Segment messages and batch defaults ------------------------------------------


def test_segment_calls_are_recognised_but_touchpoint_interactions_are_not() -> None:
    assert is_segment_message(track("Signed Up"))
    assert is_segment_message({"type": "alias", "previousId": "a", "userId": "b"})
    own_purchase = {"type": "purchase", "channel": "web", "customer": {"email": "a@example.com"}}
    own_identify = {"type": "identify", "channel": "web", "customer": {"external_id": "u"}}
    assert not is_segment_message(own_purchase)
    assert not is_segment_message(own_identify)
    assert not is_segment_message({"type": "track"})  # nothing Segment-like beyond the type
    assert not is_segment_message(["track"])


def test_batch_context_and_sent_at_apply_under_each_message_own() -> None:
    batch_context = {"library": {"name": "sdk"}, "campaign": {"source": "google", "name": "a"}}
    msg = {"type": "track", "context": {"campaign": {"name": "b"}}}
    merged = with_batch_defaults(msg, context=batch_context, sent_at="2026-01-01T00:00:00Z")
    assert merged["context"] == {
        "library": {"name": "sdk"},
        "campaign": {"source": "google", "name": "b"},
    }
    assert merged["sentAt"] == "2026-01-01T00:00:00Z"
    assert msg == {"type": "track", "context": {"campaign": {"name": "b"}}}  # not mutated


# --- the event table --------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_events.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_table_overrides_and_extends_the_shipped_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[events."Order Completed"]\ntype = "subscription_started"\n\n'
        '[events."Callback Requested"]\ntype = "call"\nchannel = "phone"\n',
    )
    events = load_event_map(path)
    assert translate(track("Order Completed"), events)["type"] == "subscription_started"
    callback = translate(track("Callback Requested"), events)
    assert (callback["type"], callback["channel"]) == ("call", "phone")
    assert translate(track("Signed Up"), events)["type"] == "signup"  # shipped entries remain


def test_broken_toml_is_a_config_error_naming_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[events."Order Completed"]\ntype = "purchase"\nchannel =\n')
    with pytest.raises(ConfigError) as caught:
        load_event_map(path)
    assert str(path) in str(caught.value)
    assert "not valid TOML" in str(caught.value) and "line 3" in str(caught.value)


def test_unknown_type_is_a_config_error_naming_event_line_and_choices(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '# my table\n[events."Signed Up"]\ntype = "signup"\n\n[events."Order Completed"]\ntype = "purchse"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_event_map(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: event 'Order Completed' (line 5): unknown type 'purchse'")
    assert "purchase" in text  # the allowed values are listed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[events."X"]\nchannel = "web"\n', "missing `type`"),
        ('[events."X"]\ntype = "signup"\nchanel = "web"\n', "unknown key(s) chanel"),
        ('[events."X"]\ntype = "signup"\nchannel = "fax"\n', "unknown channel 'fax'"),
        ('[event."X"]\ntype = "signup"\n', "unknown top-level key(s) event"),
        ('events = ["X"]\n', "`events` must be a table"),
    ],
)
def test_malformed_entries_are_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r".") as caught:
        load_event_map(write(tmp_path, text))
    assert expected in str(caught.value)


def test_missing_user_table_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_event_map(tmp_path / "absent.toml")


# --- through the ingestion path (SQLite and PostgreSQL) ---------------------------------------


def ingest_messages(tp: Touchpoint, events: SegmentEventMap, *messages: dict[str, Any]) -> None:
    """Each message in its own call, as an SDK sending them one by one would."""
    for msg in messages:
        report = tp.ingestor.ingest([(0, segment_to_interaction(msg, events))])
        assert not report.rejected, report.rejected


def live_customers(tp: Touchpoint) -> dict[str, set[str]]:
    """Every live customer's identity keys."""
    with read_connection(tp.engine) as conn:
        live = set(conn.scalars(select(customers.c.id).where(customers.c.merged_into.is_(None))))
        owned = conn.execute(select(identities.c.customer_id, identities.c.key)).all()
    found: dict[str, set[str]] = {cid: set() for cid in live}
    for cid, key in owned:
        found[cid].add(key)
    return found


def test_alias_merges_the_anonymous_visitor_into_the_user(
    tp: Touchpoint, events: SegmentEventMap
) -> None:
    visit = message("page", userId=None, anonymousId="anon-5", messageId="m-1")
    signup = track("Signed Up", userId="user-5", messageId="m-2")
    link = message("alias", previousId="anon-5", userId="user-5", messageId="m-3")
    ingest_messages(tp, events, visit, signup, link)
    assert list(live_customers(tp).values()) == [
        {"anonymous_id:anon-5", "external_id:user-5", "previous_id:anon-5"}
    ]


def test_alias_between_two_user_ids_merges_them(tp: Touchpoint, events: SegmentEventMap) -> None:
    """The issue's SDK session: identify(u7), identify(u8), track(u8), alias(u8 -> u7)."""
    ingest_messages(
        tp,
        events,
        message("identify", userId="u7", traits={"email": "seven@example.com"}, messageId="a"),
        message("identify", userId="u8", messageId="b"),
        track("Signed Up", userId="u8", messageId="c"),
        message("alias", previousId="u8", userId="u7", messageId="d"),
    )
    (keys,) = live_customers(tp).values()  # one customer, holding both user ids
    assert keys == {
        "external_id:u7",
        "external_id:u8",
        "email:seven@example.com",
        "previous_id:u8",
    }
    with read_connection(tp.engine) as conn:
        (merge,) = conn.execute(select(merges.c.cause, merges.c.linking_key)).all()
        owners = set(conn.scalars(select(interactions.c.customer_id)))
    assert tuple(merge) == ("alias", "previous_id:u8")
    assert len(owners) == 1  # all four interactions are the one customer's


def test_alias_sent_before_the_previous_user_appears_still_merges(
    tp: Touchpoint, events: SegmentEventMap
) -> None:
    ingest_messages(
        tp,
        events,
        message("alias", previousId="u8", userId="u7", messageId="d"),
        message("identify", userId="u8", messageId="b"),
        message("page", userId=None, anonymousId="u8", messageId="e"),
    )
    assert list(live_customers(tp).values()) == [
        {"external_id:u7", "previous_id:u8", "external_id:u8", "anonymous_id:u8"}
    ]


def test_alias_is_not_blocked_by_merge_protection(tp: Touchpoint, events: SegmentEventMap) -> None:
    """Two signed-up users sharing an email stay apart (a conflict) until an alias says they are
    one person."""
    shared = {"traits": {"email": "family@example.com"}}
    ingest_messages(
        tp,
        events,
        message("identify", userId="mum", messageId="a", **shared),
        message("identify", userId="son", messageId="b", **shared),
    )
    assert sorted(map(sorted, live_customers(tp).values())) == [
        ["email:family@example.com", "external_id:mum"],
        ["external_id:son"],
    ]
    ingest_messages(tp, events, message("alias", previousId="son", userId="mum", messageId="c"))
    assert list(live_customers(tp).values()) == [
        {"email:family@example.com", "external_id:mum", "external_id:son", "previous_id:son"}
    ]
