"""The demo business generator: reproducible, valid, believable, and service quality matters."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import phonenumbers
import pytest

from touchpoint.demo.generator import generate_interactions, summarize
from touchpoint.demo.people import PersonFactory, build_pools
from touchpoint.domain.identity import identity_keys
from touchpoint.domain.resolution import resolve_batch
from touchpoint.ingest.schema import InteractionIn

Interaction = dict[str, Any]
END = datetime(2026, 11, 1, tzinfo=UTC)  # a fixed end: the same seed and end, the same business
CORE_TYPES = {
    "ad_click",
    "page_view",
    "signup",
    "call",
    "chat",
    "email_sent",
    "purchase",
    "refund",
    "ticket_opened",
    "ticket_resolved",
    "survey_response",
    "referral",
    "review",
    "cancellation",
    "cart_abandoned",
}


@pytest.fixture(scope="module")
def small() -> list[Interaction]:
    return list(generate_interactions(200, end=END))


@pytest.fixture(scope="module")
def business() -> list[Interaction]:
    return list(generate_interactions(2_000, end=END))


@pytest.fixture(scope="module")
def people(business: list[Interaction]) -> dict[str, list[Interaction]]:
    """Each simulated person's interactions, by the `demo-{person}` prefix of their ids."""
    by_person: dict[str, list[Interaction]] = defaultdict(list)
    for item in business:
        by_person[person_of(item)].append(item)
    return by_person


def person_of(item: Interaction) -> str:
    return item["id"].rsplit("-", 1)[0]


def test_same_seed_yields_identical_interactions() -> None:
    assert list(generate_interactions(100, seed=3, end=END)) == list(
        generate_interactions(100, seed=3, end=END)
    )


def test_different_seed_yields_different_interactions() -> None:
    assert list(generate_interactions(100, seed=3, end=END)) != list(
        generate_interactions(100, seed=4, end=END)
    )


def test_every_interaction_validates_as_interaction_in(small: list[Interaction]) -> None:
    for item in small:
        InteractionIn.model_validate(item)


def test_every_core_interaction_type_appears(small: list[Interaction]) -> None:
    assert CORE_TYPES <= {item["type"] for item in small}


def test_every_channel_is_used(business: list[Interaction]) -> None:
    channels = {item["channel"] for item in business}
    assert {"phone", "email", "chat", "social", "sms", "web", "ad", "mobile_app"} <= channels


def test_ids_are_unique(business: list[Interaction]) -> None:
    ids = [item["id"] for item in business]
    assert len(ids) == len(set(ids))


def test_about_forty_interactions_per_customer(business: list[Interaction]) -> None:
    assert 30 <= len(business) / 2_000 <= 50


def test_output_scales_with_the_number_of_customers(small: list[Interaction]) -> None:
    assert 3 <= sum(1 for _ in generate_interactions(800, end=END)) / len(small) <= 5


def test_each_persons_interactions_come_in_time_order(
    people: dict[str, list[Interaction]],
) -> None:
    for items in people.values():
        times = [item["occurred_at"] for item in items]
        assert times == sorted(times)


def test_timestamps_are_utc_aware_and_within_the_window(business: list[Interaction]) -> None:
    start = datetime(2025, 5, 1, tzinfo=UTC)  # 18 months before END
    for item in business:
        occurred = datetime.fromisoformat(item["occurred_at"])
        assert occurred.utcoffset() == timedelta(0)
        assert start <= occurred < END


def test_window_follows_end_and_months() -> None:
    end = datetime(2024, 3, 15, 12, tzinfo=UTC)
    times = [
        datetime.fromisoformat(i["occurred_at"])
        for i in generate_interactions(100, end=end, months=6)
    ]
    assert min(times) >= datetime(2023, 9, 15, 12, tzinfo=UTC)
    assert max(times) < end


def test_naive_end_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_interactions(10, end=datetime(2026, 1, 1))  # noqa: DTZ001


def test_phones_parse_as_possible_numbers(business: list[Interaction]) -> None:
    phones = {item["customer"]["phone"] for item in business if "phone" in item["customer"]}
    assert len(phones) > 500
    for phone in phones:
        assert phonenumbers.is_possible_number(phonenumbers.parse(phone, "US")), phone


def test_every_identity_normalises(business: list[Interaction]) -> None:
    for item in business:
        who = item["customer"]
        identity_keys(
            **{
                kind: who.get(kind)
                for kind in ("email", "phone", "external_id", "anonymous_id", "handles")
            }
        )


def test_money_is_on_purchases_and_given_back_negative_on_refunds_and_cancellations(
    business: list[Interaction],
) -> None:
    with_money = [item for item in business if "revenue" in item]
    assert {item["type"] for item in with_money} == {"purchase", "refund", "order_cancelled"}
    assert all(item["currency"] in ("USD", "EUR") for item in with_money)
    assert all((item["revenue"] > 0) == (item["type"] == "purchase") for item in with_money)


def test_surveys_carry_scores_in_range(business: list[Interaction]) -> None:
    answers = [i["properties"] for i in business if i["type"] == "survey_response"]
    ranges = {"csat": range(1, 6), "nps": range(0, 11)}
    assert {a["survey"] for a in answers} == {"csat", "nps", "how_did_you_hear"}
    for answer in answers:
        if answer["survey"] in ranges:
            assert answer["score"] in ranges[answer["survey"]]


def test_referred_people_name_a_real_referrer(business: list[Interaction]) -> None:
    known = {i["customer"]["external_id"] for i in business if "external_id" in i["customer"]}
    referred = [
        i["properties"]["referrer_external_id"]
        for i in business
        if i["type"] == "referral" and i["properties"]["role"] == "referred"
    ]
    assert len(referred) >= 10
    assert set(referred) <= known


def test_identity_resolution_stitches_people_without_mixing_them(
    business: list[Interaction],
) -> None:
    resolution = resolve_batch(
        [[key.key for key in identity_keys(**item["customer"])] for item in business],
        {},
        {},
        (f"c{n}" for n in itertools.count()).__next__,
    )
    people_of: dict[str, set[str]] = defaultdict(set)
    for item, customer in zip(business, resolution.customer_of_event, strict=True):
        people_of[customer].add(person_of(item))
    assert all(len(people) == 1 for people in people_of.values())  # no two people merged
    merged_people = {person_of(business[m.event_index]) for m in resolution.merges}
    assert len(merged_people) > 100  # phone-first callers, social handles, second devices


def test_poor_service_customers_cancel_more_often(people: dict[str, list[Interaction]]) -> None:
    """Customers with an unresolved ticket or a CSAT of 1–2 cancel far more than those whose
    tickets were all resolved and rated 4–5."""
    outcomes: dict[str, list[bool]] = {"poor": [], "good": []}
    for items in people.values():
        service = service_quality(items)
        if service in outcomes:
            outcomes[service].append(any(i["type"] == "cancellation" for i in items))
    poor, good = (sum(v) / len(v) for v in (outcomes["poor"], outcomes["good"]))
    assert len(outcomes["poor"]) >= 30 and len(outcomes["good"]) >= 30
    assert poor > 2 * good and poor - good > 0.08


def service_quality(items: list[Interaction]) -> str:
    opened = {i["properties"]["ticket_id"] for i in items if i["type"] == "ticket_opened"}
    resolved = {i["properties"]["ticket_id"] for i in items if i["type"] == "ticket_resolved"}
    csat = [
        i["properties"]["score"]
        for i in items
        if i["type"] == "survey_response" and i["properties"]["survey"] == "csat"
    ]
    if not opened:
        return "none"
    if opened - resolved or any(score <= 2 for score in csat):
        return "poor"
    return "good" if csat and min(csat) >= 4 else "mixed"


def test_summary_counts_people_types_and_net_revenue(small: list[Interaction]) -> None:
    summary = summarize(small)
    assert summary["interactions"] == len(small)
    assert summary["people"] == len({person_of(i) for i in small})
    assert sum(summary["by_type"].values()) == len(small)
    assert summary["net_revenue"]["USD"] > 0


def test_identities_stay_unique_past_the_fictional_phone_ranges() -> None:
    factory = PersonFactory(build_pools(7), Random(7), END.date())
    made = [factory.make(index) for index in range(12_000)]
    phones = [p.phone for p in made if p.phone]
    assert len(set(phones)) == len(phones)
    assert len({p.email for p in made}) == len(made)
    for phone in phones:
        assert phonenumbers.is_possible_number(phonenumbers.parse(phone, "US")), phone


def test_agents_differ_in_first_contact_resolution_beyond_chance(
    business: list[Interaction],
) -> None:
    """Agents' skill drives outcomes: their first-contact resolution rates spread far more than
    the binomial noise of equally skilled agents would (dispersion index well above 1)."""
    by_agent: dict[str, list[bool]] = defaultdict(list)
    for item in business:
        props = item.get("properties", {})
        if item["type"] != "ticket_resolved" and "first_contact_resolution" in props:
            if item.get("queue") == "support" and item.get("agent"):
                by_agent[item["agent"]].append(props["first_contact_resolution"])
    contacts = sum(len(v) for v in by_agent.values())
    rate = sum(sum(v) for v in by_agent.values()) / contacts
    chi2 = sum(
        (sum(v) - len(v) * rate) ** 2 / (len(v) * rate * (1 - rate)) for v in by_agent.values()
    )
    assert chi2 / (len(by_agent) - 1) > 1.8
