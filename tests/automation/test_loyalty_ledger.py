"""The loyalty ledger: FIFO expiry worked by hand, tiers by threshold, and redeeming refused past
the balance — once per redemption id, and never below zero under concurrent redemptions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.automation.test_email_runs import record
from tests.builders import interaction
from touchpoint.domain.loyalty import (
    POINTS,
    REDEEMED,
    Entry,
    Policy,
    Tier,
    add_months,
    fold,
    tier_for,
)
from touchpoint.errors import Conflict
from touchpoint.runtime import Touchpoint
from touchpoint.services import loyalty
from touchpoint.services.customers import find_one
from touchpoint.store.engine import read_connection


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def award(when: str, points: int) -> Entry:
    return Entry(f"a-{when}", at(when), POINTS, points)


def spend(when: str, points: int) -> Entry:
    return Entry(f"r-{when}", at(when), REDEEMED, points)


LEDGER = [
    award("2025-01-10", 100),
    award("2025-06-01", 50),
    spend("2025-08-01", 120),  # 100 from January's lot, 20 from June's
    award("2025-09-01", 30),
]
YEAR = Policy(expire_months=12)


def test_a_month_later_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(at("2025-01-31"), 1) == at("2025-02-28")
    assert add_months(at("2024-02-29"), 12) == at("2025-02-28")
    assert add_months(at("2025-11-15"), 3) == at("2026-02-15")


@pytest.mark.parametrize(
    ("now", "expired", "balance"),
    [
        ("2025-12-31", 0, 60),  # 180 earned - 120 redeemed
        ("2026-01-10", 0, 60),  # January's lot expires empty: all spent
        ("2026-06-01", 30, 30),  # June's 50 - 20 spent = 30 expire
        ("2026-09-01", 60, 0),  # September's 30 too
    ],
)
def test_points_expire_a_year_after_earning_spent_oldest_first(
    now: str, expired: int, balance: int
) -> None:
    found = fold(LEDGER, YEAR, at(now))
    assert (found.earned, found.redeemed, found.expired, found.balance) == (
        180,
        120,
        expired,
        balance,
    )


def test_without_an_expiry_policy_nothing_expires() -> None:
    found = fold(LEDGER, Policy(), at("2030-01-01"))
    assert (found.expired, found.balance) == (0, 60)


def test_the_highest_tier_met_by_points_or_spend() -> None:
    tiers = (
        Tier("silver", points=100),
        Tier("gold", points=500, spend=1000.0),
        Tier("vip", spend=5000.0),
    )
    assert tier_for(99, 0, tiers) is None
    assert tier_for(100, 0, tiers) == "silver"
    assert tier_for(120, 1000.0, tiers) == "gold"  # spend alone suffices
    assert tier_for(10_000, 4999.99, tiers) == "gold"
    assert tier_for(0, 5000.0, tiers) == "vip"


def _earn(tp: Touchpoint, email: str, points: int) -> str:
    now = datetime.now(UTC) - timedelta(minutes=5)
    item = interaction(
        type="custom", name="loyalty_points", email=email, at=now, properties={"points": points}
    )
    record(tp, item)
    with read_connection(tp.engine) as conn:
        return find_one(conn, email, default_region="US")


def test_a_redemption_past_the_balance_is_refused_and_an_id_redeems_once(tp: Touchpoint) -> None:
    cid = _earn(tp, "red@example.com", 100)
    first = loyalty.redeem(tp, cid, 60, "a mug", redemption_id="order-1")
    assert (first.recorded, first.loyalty.balance) == (True, 40)
    again = loyalty.redeem(tp, cid, 60, "a mug", redemption_id="order-1")
    assert (again.recorded, again.loyalty.balance) == (False, 40)
    with pytest.raises(Conflict, match="already redeemed 60 points, not 10"):
        loyalty.redeem(tp, cid, 10, "a mug", redemption_id="order-1")
    with pytest.raises(Conflict, match="the balance is 40, 50 asked"):
        loyalty.redeem(tp, cid, 50, "a lamp")
    assert loyalty.balance(tp, cid).balance == 40


def test_concurrent_redemptions_never_spend_more_than_the_balance(tp: Touchpoint) -> None:
    cid = _earn(tp, "race@example.com", 100)

    def attempt(n: int) -> bool:
        try:
            loyalty.redeem(tp, cid, 15, f"voucher {n}")
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(attempt, range(10)))
    # 100 // 15 = 6 redemptions fit; 10 points are left
    assert sum(done) == 6
    assert loyalty.balance(tp, cid).balance == 10
