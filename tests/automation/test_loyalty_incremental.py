"""The loyalty job run incrementally from its mark: after a first run that reads everyone, a run
reads only the customers something changed for, and still writes each change that falls due —
by new entries, by points expiring, by a purchase leaving the 12 months, by a row whose moment
came, by a merge and its undoing, by a referrer who appears after the purchase, by a new policy —
worked by hand, each failing if its candidate rule is dropped. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.automation.test_email_runs import record
from tests.automation.test_loyalty_tiers import TIERS, policy
from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import identity, loyalty
from touchpoint.services import loyalty_marks as marks
from touchpoint.services.customers import find_one
from touchpoint.store.engine import read_connection

BASE = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return BASE + timedelta(days=days)


def earn(tp: Touchpoint, email: str, points: int, days: float) -> str:
    properties = {"points": points, "reason": "order"}
    item = interaction(
        type="custom", name="loyalty_points", email=email, at=at(days), properties=properties
    )
    record(tp, item)
    return customer(tp, email)


def buy(tp: Touchpoint, email: str, revenue: float, days: float) -> str:
    item = interaction(type="purchase", email=email, at=at(days), revenue=revenue, currency="USD")
    record(tp, item)
    return customer(tp, email)


def refer(tp: Touchpoint, email: str, referrer: str, days: float) -> str:
    properties = {"referrer": referrer}
    record(tp, interaction(type="referral", email=email, at=at(days), properties=properties))
    return customer(tp, email)


def customer(tp: Touchpoint, email: str) -> str:
    with read_connection(tp.engine) as conn:
        return find_one(conn, email, default_region="US")


def scope(tp: Touchpoint, days: float) -> marks.Scope:
    """Whom a run at BASE + `days` would read."""
    with read_connection(tp.engine) as conn:
        return marks.scope(
            conn, marks.read_mark(conn), loyalty.load_policy(tp.settings.data_dir), at(days)
        )


def moved(tp: Touchpoint, days: float) -> list[tuple[str, str | None, str | None]]:
    """The job run at BASE + `days`: the tier changes it wrote."""
    done = loyalty.run(tp, at(days))
    assert all(c.recorded for c in done.tiers)
    return [(c.customer_id, c.before, c.after) for c in done.tiers]


def test_a_run_after_the_first_reads_only_whom_something_changed_for(tp: Touchpoint) -> None:
    policy(tp, TIERS)
    ann = earn(tp, "ann@example.com", 120, days=-5)
    bob = earn(tp, "bob@example.com", 60, days=-5)
    assert scope(tp, 0).full  # no mark yet: everyone
    assert moved(tp, 0) == [(ann, None, "silver")]
    assert scope(tp, 0.1).tiers == {ann}  # the tier the run wrote her, read once more
    assert moved(tp, 0.1) == []
    assert scope(tp, 0.2).tiers == set()  # nothing new: nobody to read
    earn(tp, "bob@example.com", 450, days=0.25)  # 60 + 450 = 510 >= gold's 500
    assert scope(tp, 0.3).tiers == {bob}
    assert moved(tp, 0.3) == [(bob, None, "gold")]
    assert moved(tp, 0.4) == []


def test_points_expiring_between_two_runs_take_the_tier_away(tp: Touchpoint) -> None:
    policy(tp, "expire_after_months = 2\n" + TIERS)
    # 150 points earned 10 days before BASE expire two months later: 2025-05-01 12:00
    ann = earn(tp, "ann@example.com", 150, days=-10)
    assert moved(tp, 0) == [(ann, None, "silver")]
    assert moved(tp, 40) == []  # 2025-04-19: not yet
    assert scope(tp, 60).tiers == {ann}  # nothing new in the log; her points expire meanwhile
    assert moved(tp, 60) == [(ann, "silver", None)]


def test_a_purchase_leaving_the_twelve_months_takes_the_tier_away(tp: Touchpoint) -> None:
    policy(tp, TIERS)
    # 1200 spent 360 days before BASE (2024-03-15): in the 12 months until 2025-03-15 12:00
    bob = buy(tp, "bob@example.com", 1200.0, days=-360)
    assert moved(tp, 0) == [(bob, None, "gold")]
    assert moved(tp, 4) == []  # 2025-03-14: still in
    assert scope(tp, 6).tiers == {bob}
    assert moved(tp, 6) == [(bob, "gold", None)]


def test_an_award_stored_ahead_of_its_moment_counts_when_the_moment_comes(tp: Touchpoint) -> None:
    policy(tp, TIERS)
    cy = earn(tp, "cy@example.com", 150, days=3)  # stored now, earned three days after BASE
    assert moved(tp, 0) == []  # not earned yet at BASE
    assert scope(tp, 4).tiers == {cy}
    assert moved(tp, 4) == [(cy, None, "silver")]


def test_a_merge_and_its_undoing_move_the_survivor_up_and_back(tp: Touchpoint) -> None:
    policy(tp, TIERS)
    dee = earn(tp, "dee@example.com", 60, days=-3)
    eve = earn(tp, "eve@example.com", 70, days=-2)
    assert moved(tp, 0) == []  # 60 and 70: under silver's 100
    merge = identity.merge_customers(tp, dee, eve)
    assert (merge.survivor_id, merge.merged_id) == (dee, eve)
    # no new row in the log: dee's ledger holds eve's award now, 60 + 70 = 130
    assert moved(tp, 0.1) == [(dee, None, "silver")]
    assert moved(tp, 0.15) == []  # (the tier written, read once more)
    identity.unmerge(tp, merge.id)
    # eve's award goes back with her: dee holds 60 and the silver tier set for her
    assert moved(tp, 0.2) == [(dee, "silver", None)]
    assert loyalty.balance(tp, eve, now=at(0.2)).balance == 70


def test_a_referrer_known_only_after_the_purchase_is_rewarded_then(tp: Touchpoint) -> None:
    policy(tp, "[referrals]\nreward_points = 100\n" + TIERS)
    gus = refer(tp, "gus@example.com", "zed@example.com", days=-4)  # zed: nobody yet
    buy(tp, "gus@example.com", 20.0, days=-3)
    assert loyalty.run(tp, at(0)) == loyalty.LoyaltyRun()  # an unknown referrer earns nothing
    record(tp, interaction(type="signup", email="zed@example.com", at=at(0.05)))
    zed = customer(tp, "zed@example.com")
    assert gus in (scope(tp, 0.1).referred or set())  # gus has nothing new; zed's key is
    done = loyalty.run(tp, at(0.1))
    # the reward dated gus's first purchase, and with its 100 points zed is silver
    assert [(r.referrer_id, r.referred_id, r.at) for r in done.rewards] == [(zed, gus, at(-3))]
    assert [(c.customer_id, c.after) for c in done.tiers] == [(zed, "silver")]
    assert loyalty.run(tp, at(0.2)) == loyalty.LoyaltyRun()


def test_another_policy_or_an_earlier_moment_reads_everyone(tp: Touchpoint) -> None:
    policy(tp, TIERS)
    ann = earn(tp, "ann@example.com", 150, days=-1)
    assert moved(tp, 0) == [(ann, None, "silver")]
    assert not scope(tp, 1).full
    assert scope(tp, -1).full  # before the mark's moment
    policy(tp, TIERS.replace("points = 100", "points = 160"))  # silver needs 160 now
    assert scope(tp, 1).full
    assert moved(tp, 1) == [(ann, "silver", None)]
    assert moved(tp, 2) == []
