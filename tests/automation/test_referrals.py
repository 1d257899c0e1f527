"""Referral rewards: a `referral` interaction of the referred customer names the referrer (an
email, a customer id or an external id); at the referred customer's first purchase the referrer
is awarded [referrals] reward_points, once per referred customer, worked by hand. A self-referral,
a referral of a customer who had already bought, or of an unknown referrer earns nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.automation.test_email_runs import record
from tests.automation.test_loyalty_tiers import NOW, buy, customer, loyalty_tiers, policy
from tests.builders import interaction
from touchpoint.domain.loyalty import POINTS
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import identity, loyalty
from touchpoint.services.scheduler import run_once
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

REWARD = """[referrals]
reward_points = 100

[[tiers]]
name = "silver"
points = 100
"""


def sign_up(tp: Touchpoint, email: str, days_ago: float, **identity: str) -> str:
    at = NOW - timedelta(days=days_ago)
    record(tp, interaction(type="signup", email=email, at=at, **identity))
    return customer(tp, email)


def refer(tp: Touchpoint, email: str, days_ago: float, **named: str) -> str:
    at = NOW - timedelta(days=days_ago)
    properties = {"role": "referred", **named}
    record(tp, interaction(type="referral", email=email, at=at, properties=properties))
    return customer(tp, email)


def awards(tp: Touchpoint) -> list[dict[str, Any]]:
    query = (
        interactions.select()
        .with_only_columns(
            interactions.c.id,
            interactions.c.customer_id,
            interactions.c.occurred_at,
            interactions.c.properties,
        )
        .where(interactions.c.name == POINTS)
        .order_by(interactions.c.seq)
    )
    with read_connection(tp.engine) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def test_the_referrer_is_rewarded_once_at_the_first_purchase(tp: Touchpoint) -> None:
    policy(tp, REWARD)
    ann = sign_up(tp, "ann@example.com", days_ago=30)
    bob = refer(tp, "bob@example.com", days_ago=10, referrer="ann@example.com")
    assert loyalty.reward_referrals(tp) == []  # bob has not bought yet
    buy(tp, "bob@example.com", 40.0, days_ago=5)
    buy(tp, "bob@example.com", 60.0, days_ago=2)
    ran = run_once(tp)
    assert ran.loyalty is not None
    # one reward of 100 to ann, dated bob's first purchase (5 days ago), and with 100 points
    # ann meets silver's 100 in the same run
    assert [(r.referrer_id, r.referred_id, r.points, r.recorded) for r in ran.loyalty.rewards] == [
        (ann, bob, 100, True)
    ]
    assert [(c.customer_id, c.after) for c in ran.loyalty.tiers] == [(ann, "silver")]
    (award,) = awards(tp)
    assert (award["id"], award["customer_id"]) == (f"referral-{bob}", ann)
    assert award["occurred_at"].replace(tzinfo=NOW.tzinfo) == NOW - timedelta(days=5)
    assert award["properties"] == {"points": 100, "reason": "referral", "referred": bob}
    # run again: the reward is stored, nothing more is written
    assert run_once(tp).loyalty == loyalty.LoyaltyRun()
    assert len(awards(tp)) == 1
    line = loyalty.describe(loyalty.balance(tp, ann))
    assert line == (
        "Loyalty: 100 points (100 earned, 0 redeemed), tier silver, referred 1 customer who bought"
    )


def test_a_referrer_named_by_customer_id_or_external_id_is_rewarded(tp: Touchpoint) -> None:
    policy(tp, "[referrals]\nreward_points = 25\n")
    ann = sign_up(tp, "ann@example.com", days_ago=30, external_id="crm-7")
    cy = refer(tp, "cy@example.com", days_ago=9, referrer=ann)
    di = refer(tp, "di@example.com", days_ago=8, referrer_external_id="crm-7")
    # di's second referral, by someone else, later: the first referral counts
    refer(tp, "di@example.com", days_ago=7, referrer="cy@example.com")
    buy(tp, "cy@example.com", 10.0, days_ago=3)
    buy(tp, "di@example.com", 10.0, days_ago=1)
    rewards = loyalty.reward_referrals(tp)
    assert sorted((r.referrer_id, r.referred_id) for r in rewards) == sorted([(ann, cy), (ann, di)])
    # 25 + 25 = 50; no tiers in this policy
    found = loyalty.balance(tp, ann)
    assert (found.balance, found.referrals, found.tier) == (50, 2, None)
    assert loyalty.describe(found) == (
        "Loyalty: 50 points (50 earned, 0 redeemed), referred 2 customers who bought"
    )


def test_a_self_referral_an_existing_buyer_and_an_unknown_referrer_earn_nothing(
    tp: Touchpoint,
) -> None:
    policy(tp, REWARD)
    sign_up(tp, "ann@example.com", days_ago=30)
    refer(tp, "eve@example.com", days_ago=10, referrer="eve@example.com")  # herself
    buy(tp, "eve@example.com", 10.0, days_ago=9)
    buy(tp, "fay@example.com", 10.0, days_ago=20)  # bought before she was referred
    refer(tp, "fay@example.com", days_ago=10, referrer="ann@example.com")
    buy(tp, "fay@example.com", 10.0, days_ago=5)
    refer(tp, "gus@example.com", days_ago=10, referrer="nobody@example.com")  # not a customer
    refer(tp, "hal@example.com", days_ago=10, role="referrer")  # an invitation: names nobody
    buy(tp, "gus@example.com", 10.0, days_ago=5)
    buy(tp, "hal@example.com", 10.0, days_ago=5)
    assert loyalty.reward_referrals(tp) == []
    assert awards(tp) == []


def test_without_a_referrals_table_a_referral_earns_nothing(tp: Touchpoint) -> None:
    sign_up(tp, "ann@example.com", days_ago=30)
    refer(tp, "bob@example.com", days_ago=10, referrer="ann@example.com")
    buy(tp, "bob@example.com", 10.0, days_ago=5)
    assert loyalty.run(tp) == loyalty.LoyaltyRun()
    assert awards(tp) == []


def test_a_reward_that_is_not_a_whole_number_is_refused_by_line(tmp_path: Path) -> None:
    (tmp_path / "loyalty.toml").write_text("[referrals]\nreward_points = -5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        loyalty.load_policy(tmp_path)
    assert str(caught.value) == (
        "loyalty.toml:2: referrals.reward_points: must be a whole number from 0 to 1000000"
    )


def test_a_rewarded_customer_merged_into_another_referred_one_earns_no_second_reward(
    tp: Touchpoint,
) -> None:
    """Bob and Bea, both referred by Ann, are one person: Bea bought (Ann rewarded once), then
    Bea's profile is merged into Bob's (the older). Bob's profile now has a referral and a
    purchase but no reward under his id: the person was rewarded, so nothing more; nor after
    the merge is undone (Bea keeps her reward, Bob has not bought)."""
    policy(tp, "[referrals]\nreward_points = 100\n")
    ann = sign_up(tp, "ann@example.com", days_ago=30)
    bob = refer(tp, "bob@example.com", days_ago=20, referrer="ann@example.com")
    bea = refer(tp, "bea@example.com", days_ago=10, referrer="ann@example.com")
    buy(tp, "bea@example.com", 30.0, days_ago=5)
    assert [(r.referrer_id, r.referred_id) for r in loyalty.reward_referrals(tp)] == [(ann, bea)]
    merge = identity.merge_customers(tp, bea, bob)
    assert (merge.survivor_id, merge.merged_id) == (bob, bea)
    assert loyalty.reward_referrals(tp) == []
    assert loyalty.balance(tp, ann).balance == 100
    identity.unmerge(tp, merge.id)
    assert loyalty.reward_referrals(tp) == []
    buy(tp, "bob@example.com", 20.0, days_ago=1)  # Bob, a person of his own again, buys
    assert [(r.referrer_id, r.referred_id) for r in loyalty.reward_referrals(tp)] == [(ann, bob)]
    assert [a["id"] for a in awards(tp)] == [f"referral-{bea}", f"referral-{bob}"]


def test_touchpoint_tick_prints_the_rewards_and_tier_changes_it_wrote(tp: Touchpoint) -> None:
    policy(tp, REWARD)
    ann = sign_up(tp, "ann@example.com", days_ago=30)
    bob = refer(tp, "bob@example.com", days_ago=10, referrer="ann@example.com")
    buy(tp, "bob@example.com", 40.0, days_ago=5)
    ticked = loyalty_tiers(tp, columns=300, argv=("tick",))
    assert ticked.returncode == 0, ticked.stderr
    lines = ticked.stdout.splitlines()
    assert "playbooks: 0 runs started; steps: none due." in lines
    assert "Referral rewards (1)" in ticked.stdout and "Tier changes (1)" in ticked.stdout
    rows = [[c.strip() for c in line.strip("│ ").split("│")] for line in lines if "cus_" in line]
    assert rows[0][:3] == [ann, bob, "100"] and rows[0][-1] == "yes"  # the reward, then ann's
    assert rows[1] == [ann, "-", "silver", "balance 100 points >= 100", "yes"]  # silver at 100
    again = loyalty_tiers(tp, columns=300, argv=("tick",))
    assert again.returncode == 0, again.stderr
    assert "loyalty: no referral rewards or tier changes due." in again.stdout.splitlines()
