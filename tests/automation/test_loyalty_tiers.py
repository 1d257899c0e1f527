"""The tier job: customers move up and down by their points balance or their last 12 months'
spend (loyalty.toml), one `loyalty_tier` interaction per change, worked by hand; a second run
writes nothing, and a run racing another writes the same change once (its id is the customer, the
tier it follows and the tier due, not the moment)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.automation.test_email_runs import record
from tests.builders import interaction
from touchpoint.domain.loyalty import TIER
from touchpoint.runtime import Touchpoint
from touchpoint.services import loyalty
from touchpoint.services.customers import find_one
from touchpoint.services.scheduler import run_once
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

TIERS = """[[tiers]]
name = "silver"
points = 100

[[tiers]]
name = "gold"
points = 500
spend = 1000
"""
NOW = datetime.now(UTC).replace(microsecond=0)


def policy(tp: Touchpoint, text: str = TIERS) -> None:
    (tp.settings.data_dir / "loyalty.toml").write_text(text, encoding="utf-8")


def earn(tp: Touchpoint, email: str, points: int, days_ago: float) -> str:
    item = interaction(
        type="custom",
        name="loyalty_points",
        email=email,
        at=NOW - timedelta(days=days_ago),
        properties={"points": points, "reason": "order"},
    )
    record(tp, item)
    return customer(tp, email)


def buy(tp: Touchpoint, email: str, revenue: float, days_ago: float) -> str:
    at = NOW - timedelta(days=days_ago)
    record(tp, interaction(type="purchase", email=email, at=at, revenue=revenue, currency="USD"))
    return customer(tp, email)


def customer(tp: Touchpoint, email: str) -> str:
    with read_connection(tp.engine) as conn:
        return find_one(conn, email, default_region="US")


def tiers_logged(tp: Touchpoint, cid: str) -> list[dict[str, Any]]:
    query = (
        interactions.select()
        .with_only_columns(interactions.c.id, interactions.c.properties)
        .where(interactions.c.customer_id == cid, interactions.c.name == TIER)
        .order_by(interactions.c.seq)
    )
    with read_connection(tp.engine) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def moves(changes: list[loyalty.TierChange]) -> list[tuple[str, str | None, str | None, str]]:
    return [(c.customer_id, c.before, c.after, c.why) for c in changes]


def test_a_balance_over_gold_upgrades_and_a_redemption_downgrades_once(tp: Touchpoint) -> None:
    policy(tp)
    ann = earn(tp, "ann@example.com", 520, days_ago=10)
    # 520 points >= gold's 500: gold (from no tier), through the scheduler's run
    ran = run_once(tp)
    assert ran.loyalty is not None
    assert moves(ran.loyalty.tiers) == [(ann, None, "gold", "balance 520 points >= 500")]
    assert run_once(tp).loyalty == loyalty.LoyaltyRun()  # nothing more is due: nothing written
    loyalty.redeem(tp, ann, 300, "a lamp", now=NOW)
    # 520 - 300 = 220: under gold's 500, over silver's 100
    changes = loyalty.move_tiers(tp)
    assert moves(changes) == [(ann, "gold", "silver", "balance 220 points >= 100")]
    assert changes[0].recorded
    assert loyalty.move_tiers(tp) == []
    logged = [r["properties"] for r in tiers_logged(tp, ann)]
    assert [(p["from"], p["tier"], p["balance"]) for p in logged] == [
        (None, "gold", 520),
        ("gold", "silver", 220),
    ]
    assert loyalty.balance(tp, ann).tier == "silver"


def test_the_last_twelve_months_spend_qualifies_and_older_spend_does_not(tp: Touchpoint) -> None:
    policy(tp)
    # 600 + 500 = 1100 in the last 12 months >= gold's 1000 (no points at all)
    buy(tp, "bob@example.com", 600.0, days_ago=200)
    bob = buy(tp, "bob@example.com", 500.0, days_ago=20)
    # 5000 thirteen months ago does not count; 200 since meets no tier: no change
    buy(tp, "cy@example.com", 5000.0, days_ago=400)
    buy(tp, "cy@example.com", 200.0, days_ago=30)
    changes = loyalty.move_tiers(tp)
    assert moves(changes) == [(bob, None, "gold", "1100.00 spent in 12 months >= 1000.00")]
    (logged,) = tiers_logged(tp, bob)
    assert logged["properties"]["spend"] == 1100.0


def test_points_that_expire_take_the_tier_away(tp: Touchpoint) -> None:
    policy(tp, "expire_after_months = 12\n" + TIERS)
    # 150 points earned 13 months ago made dan silver; they expired a month ago: balance 0
    dan = earn(tp, "dan@example.com", 150, days_ago=400)
    record(
        tp,
        interaction(
            type="custom",
            name="loyalty_tier",
            email="dan@example.com",
            at=NOW - timedelta(days=399),
            properties={"tier": "silver"},
        ),
    )
    changes = loyalty.move_tiers(tp)
    why = "balance 0 points and 0.00 spent in 12 months meet no tier"
    assert moves(changes) == [(dan, "silver", None, why)]
    assert tiers_logged(tp, dan)[-1]["properties"]["tier"] is None
    assert loyalty.balance(tp, dan).tier is None
    assert loyalty.move_tiers(tp) == []


def test_a_run_racing_another_writes_the_change_once(tp: Touchpoint) -> None:
    policy(tp)
    eve = earn(tp, "eve@example.com", 120, days_ago=3)
    ingest = tp.ingestor.ingest
    raced: list[list[loyalty.TierChange]] = []

    def after_another_run(*args: Any, **kwargs: Any) -> Any:
        tp.ingestor.ingest = ingest  # type: ignore[method-assign]
        # another worker, a second later, finds the same change and writes it first
        raced.append(loyalty.move_tiers(tp, now=NOW + timedelta(seconds=1)))
        return ingest(*args, **kwargs)

    tp.ingestor.ingest = after_another_run  # type: ignore[method-assign]
    try:
        ours = loyalty.move_tiers(tp, now=NOW)
    finally:
        tp.ingestor.ingest = ingest  # type: ignore[method-assign]
    (theirs,) = raced
    assert [(c.after, c.recorded) for c in theirs] == [("silver", True)]
    # the same id (eve, no tier before, silver), so ours stored nothing
    assert [(c.id, c.after, c.recorded) for c in ours] == [(theirs[0].id, "silver", False)]
    assert [r["id"] for r in tiers_logged(tp, eve)] == [theirs[0].id]


def loyalty_tiers(
    tp: Touchpoint, *, columns: int = 200, argv: tuple[str, ...] = ("loyalty", "tiers")
) -> subprocess.CompletedProcess[str]:
    """`touchpoint loyalty tiers` (or `argv`) on this Touchpoint's data, in a process of its
    own."""
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", *argv]
    command += ["--data-dir", str(tp.settings.data_dir)]
    env = {"COLUMNS": str(columns), "PATH": ""}
    if tp.settings.database_url:
        env["TOUCHPOINT_DATABASE_URL"] = tp.settings.database_url
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_the_cli_prints_who_moved_and_then_that_nothing_is_due(tp: Touchpoint) -> None:
    policy(tp)
    earn(tp, "fay@example.com", 500, days_ago=1)
    first = loyalty_tiers(tp)
    assert first.returncode == 0, first.stderr
    assert "Tier changes (1)" in first.stdout
    row = next(line for line in first.stdout.splitlines() if "cus_" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][1:] == [
        "-",
        "gold",
        "balance 500 points >= 500",
        "yes",
    ]
    again = loyalty_tiers(tp)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "No tier changes due."


def test_the_cli_says_when_no_tiers_are_set_and_where_to_set_them(tp: Touchpoint) -> None:
    earn(tp, "gus@example.com", 900, days_ago=1)  # points, but no loyalty.toml
    told = loyalty_tiers(tp, columns=300)
    assert told.returncode == 0, told.stderr
    assert told.stdout.startswith("No tiers are set: add [[tiers]] tables")
    assert str(tp.settings.data_dir / "loyalty.toml") in told.stdout
    with read_connection(tp.engine) as conn:
        tier_rows = conn.execute(interactions.select().where(interactions.c.name == TIER)).all()
    assert tier_rows == []  # nothing written
