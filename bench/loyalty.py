"""Claim (issue 14): the scheduler's loyalty job (referral rewards, then tier changes), run every
few minutes in the worker beside the playbooks, costs what changed since its last run, not what
the log holds: at 100,000 customers with loyalty activity, a run after 1,000 new events reads
those customers' ledgers only. The full job (every ledger, every purchase of 12 months, every
referral: what the job did before it kept a mark) is timed beside it in the same run, on the same
data, after its own 1,000 new events.

The data: N customers, each with an award of points and a purchase in the last 13 months, one in
three a redemption, one in ten a second purchase, one in ten referred by another customer; one
year of expiry, tiers silver (100 points) and gold (400 points or 500 spent in 12 months), 50
points per referral. Made through the bulk import path, then a first run (everyone: it writes the
tiers due), a second that reads again the customers the first wrote for, and an idle run. Then, `--rounds` times: 1,000 new events (awards, redemptions,
purchases, referred customers' first purchases) and the full job; 1,000 more and the incremental
run. Wall and CPU seconds of each (the machine is shared: CPU is the steadier figure), medians.

    flock /tmp/bench.lock uv run python bench/loyalty.py [--customers 100000] [--rounds 3]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import loyalty
from touchpoint.settings import Settings

POLICY = """expire_after_months = 12
referrals = { reward_points = 50 }
tiers = [{ name = "silver", points = 100 }, { name = "gold", points = 400, spend = 500 }]
"""
NOW = datetime.now(UTC).replace(microsecond=0)
NEW_EVENTS = 1_000


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def event(n: int, kind: str, email: str, at: datetime, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"b{n}",
        "channel": "web",
        "occurred_at": at.isoformat(),
        "customer": {"email": email},
    }
    if kind in ("earn", "redeem"):
        name = "loyalty_points" if kind == "earn" else "loyalty_redeemed"
        return {**item, "type": "custom", "name": name, "properties": fields}
    if kind == "buy":
        return {**item, "type": "purchase", "currency": "USD", **fields}
    return {**item, "type": "referral", "properties": fields}


def history(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """The customers' loyalty activity of the last 13 months."""
    items: list[dict[str, Any]] = []

    def back(days: float) -> datetime:
        return NOW - timedelta(days=days, seconds=rng.randrange(86_400))

    for i in range(n):
        email = f"c{i}@example.com"
        if i % 10 == 3 and i > 0:  # referred by someone; some of them have bought already
            referrer = f"c{rng.randrange(i)}@example.com"
            items.append(event(len(items), "refer", email, back(200), referrer=referrer))
        earned = back(rng.uniform(1, 390))
        items.append(event(len(items), "earn", email, earned, points=rng.randint(20, 500)))
        if i % 3 == 0:
            items.append(event(len(items), "redeem", email, earned + timedelta(days=1), points=20))
        if i % 10 != 3 or i % 20 == 3:
            items.append(event(len(items), "buy", email, back(rng.uniform(1, 395)), revenue=80.0))
        if i % 10 == 5:
            revenue = rng.choice([50.0, 450.0])
            items.append(
                event(len(items), "buy", email, back(rng.uniform(1, 200)), revenue=revenue)
            )
    return items


def fresh(n: int, start: int, rng: random.Random) -> list[dict[str, Any]]:
    """NEW_EVENTS events of the last minutes: awards, redemptions, purchases (some the first
    of a referred customer)."""
    items = []
    for k in range(NEW_EVENTS):
        email = f"c{rng.randrange(n)}@example.com"
        at = NOW - timedelta(seconds=rng.randrange(600))
        kind = rng.choice(("earn", "earn", "redeem", "buy", "buy"))
        if kind == "earn":
            items.append(event(start + k, kind, email, at, points=rng.randint(10, 300)))
        elif kind == "redeem":
            items.append(event(start + k, kind, email, at, points=10))
        else:
            items.append(event(start + k, kind, email, at, revenue=rng.choice([20.0, 300.0])))
    return items


class Moments:
    """The runs' moments: five minutes apart, as the scheduler's ticks."""

    def __init__(self) -> None:
        self.at = NOW

    def next(self) -> datetime:
        self.at += timedelta(minutes=5)
        return self.at


def full_job(tp: Touchpoint, now: datetime) -> loyalty.LoyaltyRun:
    """The job as it was: every referral, then every customer's ledger and 12 months' spend."""
    policy = loyalty.load_policy(tp.settings.data_dir)
    rewards = loyalty.reward_referrals(tp, now=now, policy=policy)
    return loyalty.LoyaltyRun(rewards, loyalty.move_tiers(tp, now=now, policy=policy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=14)
    arguments = parser.parse_args()
    n, rng = arguments.customers, random.Random(arguments.seed)
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        (data / "loyalty.toml").write_text(POLICY, encoding="utf-8")
        tp = open_touchpoint(Settings(data_dir=data, database_url=arguments.database_url))
        items = history(n, rng)
        load_wall, _, _ = timed(lambda: tp.ingestor.ingest(enumerate(items), bulk=True))
        tp.projections.catch_up()
        console.print(
            f"{len(items):,} interactions of {n:,} customers imported in {load_wall:.1f} s"
        )
        moments = Moments()
        first = timed(lambda: loyalty.run(tp, moments.next()))
        second = timed(lambda: loyalty.run(tp, moments.next()))
        idle = timed(lambda: loyalty.run(tp, moments.next()))
        rows: dict[str, list[tuple[float, float, loyalty.LoyaltyRun]]] = {"full": [], "inc": []}
        made = len(items)
        jobs = {
            "full": lambda: full_job(tp, moments.next()),
            "inc": lambda: loyalty.run(tp, moments.next()),
        }
        for _ in range(arguments.rounds):
            for name, job in jobs.items():
                batch = fresh(n, made, rng)
                made += len(batch)
                report = tp.ingestor.ingest(enumerate(batch))
                assert not report.rejected, report.rejected[:3]
                rows[name].append(timed(job))
                loyalty.run(tp, moments.next())  # what the round wrote, read once more
        tp.close()
    backend = "PostgreSQL" if arguments.database_url else "SQLite"
    table = Table(title=f"Loyalty job, {n:,} customers, {len(items):,} interactions ({backend})")
    for column in ("run", "wall s", "CPU s", "rewards", "tier changes"):
        table.add_column(column, justify="left" if column == "run" else "right")

    def row(what: str, runs: list[tuple[float, float, loyalty.LoyaltyRun]]) -> None:
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rewards = statistics.median(len(r[2].rewards) for r in runs)
        tiers = statistics.median(len(r[2].tiers) for r in runs)
        table.add_row(what, f"{wall:.3f}", f"{cpu:.3f}", f"{rewards:g}", f"{tiers:g}")

    row("first run (no mark: everyone)", [first])
    row("second run (reads again whom the first wrote for)", [second])
    row("idle run (nothing new)", [idle])
    rounds = arguments.rounds
    row(f"baseline: full job after {NEW_EVENTS:,} new events (median of {rounds})", rows["full"])
    row(f"incremental after {NEW_EVENTS:,} new events (median of {rounds})", rows["inc"])
    console.print(table)


if __name__ == "__main__":
    main()
