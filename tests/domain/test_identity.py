"""domain/identity.py: normalising keys, the strength order, alias partners, merge limits."""

from __future__ import annotations

import pytest

from touchpoint.domain.identity import (
    IdentityError,
    IdentityKey,
    alias_key,
    alias_partners,
    check_merge_limits,
    identity_key_strings,
    kind_of,
    normalize_email,
    normalize_handle,
    normalize_phone,
    strength,
    strongest,
)


def test_emails_are_lowercased_and_bad_ones_refused() -> None:
    assert normalize_email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    with pytest.raises(IdentityError, match="not a valid email"):
        normalize_email("ann@")


def test_phones_become_e164_in_the_default_region() -> None:
    assert normalize_phone("(415) 555-0134") == "+14155550134"
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(IdentityError, match="not a possible phone number"):
        normalize_phone("12")


def test_handles_are_network_and_lowercased_name_without_at() -> None:
    assert normalize_handle("Twitter", " @Ann_Lee ") == "twitter:ann_lee"
    with pytest.raises(IdentityError, match="unknown social network"):
        normalize_handle("myspace", "ann")


def test_an_event_lists_its_keys_strongest_first() -> None:
    keys = identity_key_strings(
        anonymous_id="ck-1",
        email="ann@example.com",
        external_id=" u-1 ",
        phone="+14155550134",
        handles={"twitter": "@ann"},
    )
    assert keys == [
        "external_id:u-1",
        "email:ann@example.com",
        "phone:+14155550134",
        "handle:twitter:ann",
        "anonymous_id:ck-1",
    ]
    assert IdentityKey.parse("handle:twitter:ann") == IdentityKey("handle", "twitter:ann")


def test_strength_order_is_external_id_email_phone_handle_anonymous_id_alias() -> None:
    order = [
        "external_id:u",
        "email:a@b.co",
        "phone:+1",
        "handle:x:y",
        "anonymous_id:c",
        "previous_id:p",
    ]
    assert [strength(k) for k in order] == [0, 1, 2, 3, 4, 5]
    assert strength("whatever:1") == 6  # unknown kinds rank last
    assert strongest(["anonymous_id:c", "phone:+1", "email:a@b.co"]) == "email:a@b.co"
    assert strongest(["handle:twitter:zed", "handle:instagram:amy"]) == "handle:instagram:amy"
    assert strongest([]) is None
    assert kind_of("handle:twitter:ann") == "handle"


def test_an_alias_key_links_the_same_value_as_user_id_or_anonymous_id() -> None:
    assert alias_key(" u8 ") == "previous_id:u8"
    assert alias_partners("previous_id:u8") == ("external_id:u8", "anonymous_id:u8")
    assert alias_partners("external_id:u8") == ("previous_id:u8",)
    assert alias_partners("anonymous_id:u8") == ("previous_id:u8",)
    assert alias_partners("email:u8@example.com") == ()


def test_merge_limits_name_known_kinds_with_whole_numbers_from_one() -> None:
    assert check_merge_limits({"external_id": 1, "email": 3}) == {"external_id": 1, "email": 3}
    assert check_merge_limits({}) == {}
    for bad, message in [
        ({"emails": 1}, "unknown identity kind 'emails'"),
        ({"previous_id": 1}, "unknown identity kind 'previous_id'"),
        ({"phone": 0}, "must be a whole number >= 1; got 0"),
        ({"phone": True}, "got True"),
        ({"phone": 1.5}, "got 1.5"),
    ]:
        with pytest.raises(IdentityError, match="merge limit") as caught:
            check_merge_limits(bad)  # type: ignore[arg-type]
        assert message in str(caught.value)


def test_a_phone_extension_stays_in_the_key_rfc_3966_style() -> None:
    assert normalize_phone("+1 646 555 0100 ext. 123") == "+16465550100;ext=123"
    assert normalize_phone("+1 646 555 0100 x456") == "+16465550100;ext=456"
    assert normalize_phone("(646) 555-0100 extension 123") == "+16465550100;ext=123"
    assert normalize_phone("+1 646 555 0100") == "+16465550100"
