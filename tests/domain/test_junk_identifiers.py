"""domain/identity.py's guardrail: placeholders a sender puts where an identity is missing are no
identity (issue 9 §2), and the list is the operator's to extend or replace."""

from __future__ import annotations

import pytest

from touchpoint.domain.identity import (
    DEFAULT_JUNK_IDENTIFIERS,
    NO_JUNK,
    IdentityError,
    JunkIdentifiers,
    check_junk_entries,
    usable_keys,
)

JUNK = JunkIdentifiers(DEFAULT_JUNK_IDENTIFIERS)


def keys(junk: JunkIdentifiers = JUNK, **who: object) -> tuple[list[str], list[tuple[str, str]]]:
    fields = ("email", "phone", "external_id", "anonymous_id", "handles")
    return usable_keys(*(who.get(f) for f in fields), "US", junk)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("external_id", "undefined"),
        ("external_id", " NULL "),  # trimmed, any case
        ("external_id", "0"),
        ("anonymous_id", "anonymous"),
        ("anonymous_id", "[object Object]"),
        ("external_id", "None"),
        ("external_id", "nil"),
        ("external_id", "NaN"),
        ("external_id", "n/a"),
        ("external_id", "-"),
        ("email", "test@test.com"),
        ("email", "Example@Example.com"),
        ("email", "noemail@gmail.com"),
        ("email", "no-email@shop.example"),
        ("external_id", "test@test.com"),  # a user id that is a placeholder email is one too
        ("handle", "null"),
    ],
)
def test_default_placeholders_are_junk(kind: str, value: str) -> None:
    assert JUNK.is_junk(kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "ann@example.com"),
        ("email", "none.of.your@business.com"),  # not none@…
        ("email", "nullable@example.com"),
        ("external_id", "0042"),
        ("external_id", "nullify"),
        ("external_id", "1234567890"),  # the digits only count as a phone
        ("anonymous_id", "anon-7"),
        ("handle", "nil_the_dj"),
    ],
)
def test_real_values_are_not_junk(kind: str, value: str) -> None:
    assert not JUNK.is_junk(kind, value)


def test_junk_identities_are_left_out_in_order_and_the_rest_kept() -> None:
    found = keys(
        email="test@test.com",
        phone="+1 202 555 0142",
        external_id="undefined",
        anonymous_id="anon-1",
        handles={"twitter": "@null", "instagram": "kim_b"},
    )
    assert found == (
        ["phone:+12025550142", "handle:instagram:kim_b", "anonymous_id:anon-1"],
        [
            ("external_id", "undefined"),
            ("email", "test@test.com"),
            ("handles.twitter", "@null"),
        ],
    )


@pytest.mark.parametrize(
    "phone", ["0000000000", "000-000-0000", "+1 111 111 1111", "(999) 999-9999", "123-456-7890"]
)
def test_a_phone_of_one_repeated_digit_or_a_listed_number_is_junk(phone: str) -> None:
    assert keys(phone=phone) == ([], [("phone", phone)])


@pytest.mark.parametrize(("field", "value"), [("email", "null"), ("phone", "0")])
def test_a_placeholder_that_is_no_valid_value_is_refused_as_before(field: str, value: str) -> None:
    # "null" is no email address, "0" no phone number: the item is refused, as any bad value
    with pytest.raises(IdentityError):
        keys(**{field: value})


def test_without_a_list_nothing_is_junk() -> None:
    assert keys(NO_JUNK, external_id="undefined", phone="0000000000") == (
        ["external_id:undefined", "phone:+10000000000"],
        [],
    )
    assert not NO_JUNK


def test_an_entry_may_name_one_kind_and_use_a_wildcard() -> None:
    junk = JunkIdentifiers(["email:guest@shop.com", "external_id:guest", "*@mailinator.com"])
    assert junk.is_junk("email", "GUEST@shop.com")
    assert not junk.is_junk("external_id", "guest@shop.com")
    assert junk.is_junk("external_id", "guest")
    assert not junk.is_junk("anonymous_id", "guest")
    assert junk.is_junk("email", "x.y@mailinator.com")
    assert not junk.is_junk("email", "x@mailinator.company")
    assert not junk.is_junk("external_id", "undefined")  # the default list was replaced


def test_brackets_and_dots_in_an_entry_are_plain_text() -> None:
    junk = JunkIdentifiers(["[object object]", "a.b"])
    assert junk.is_junk("external_id", "[object Object]")
    assert not junk.is_junk("external_id", "o")  # not a character class
    assert not junk.is_junk("external_id", "axb")


@pytest.mark.parametrize("entry", ["", "  ", "*", "email:", "phone:**"])
def test_an_entry_that_names_no_value_is_refused(entry: str) -> None:
    with pytest.raises(IdentityError, match="names no value"):
        check_junk_entries([entry])


def test_an_alias_of_a_placeholder_is_judged_as_either_id() -> None:
    junk = JunkIdentifiers(["anonymous_id:device-0"])
    assert junk.is_junk_id("device-0") and JUNK.is_junk_id("undefined")
    assert not JUNK.is_junk_id("u-42")
