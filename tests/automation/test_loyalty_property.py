"""Property: after any sequence of awards, redemptions, purchases, referrals (some naming a
referrer who signs up later), merges and their undoing, and clock advances with runs between
them, the scheduler's incremental loyalty job has written exactly what the full job, run from
scratch at the same moments on a twin of the data, writes: the same tier changes and referral
rewards, at the same moments, each once. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.automation.test_loyalty_tiers import TIERS
from tests.postgres_server import create_database
from touchpoint.errors import TouchpointError
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import identity, loyalty
from touchpoint.services.customers import find_one
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, interactions

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

START = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
LAST = START + timedelta(days=700)  # the clock stops here, well before the wall clock
EMAILS = ("a@example.com", "b@example.com", "c@example.com")
LATE = "z@example.com"  # a referrer who appears only when a step signs them up
POLICY = "expire_after_months = 2\n[referrals]\nreward_points = 80\n" + TIERS  # 100, 500 / 1000
_example = itertools.count()
RUN = ("run", "", 0, 0)
# two customers under silver each, silver together, and apart again: only the unmerge says so
UNDONE = [
    (("earn", EMAILS[0], 60, -3), False),
    (("earn", EMAILS[1], 60, -2), True),
    (("merge", EMAILS[0], EMAILS[1], 0), True),
    (RUN, False),
    (("unmerge", "", 0, 0), True),
]

who = st.sampled_from(EMAILS)
# whole days at noon, as the clock: expiries and the 12 months' edges land on runs' moments;
# half of them in the two months points live
when = st.one_of(st.integers(-60, 10), st.integers(-400, -61))
STEPS = {
    "earn": st.tuples(who, st.integers(20, 250), when),
    "redeem": st.tuples(who, st.integers(20, 160), when),
    "buy": st.tuples(who, st.sampled_from([100.0, 250.0, 620.0]), when),
    "refer": st.tuples(who, st.sampled_from((*EMAILS, LATE)), when),
    "signup": st.just((LATE, 0, 0)),
    "merge": st.tuples(who, who, st.just(0)),
    "unmerge": st.just(("", 0, 0)),
    "advance": st.tuples(st.just(""), st.sampled_from([0, 1, 10, 31, 61, 200]), st.just(0)),
    "run": st.just(("", 0, 0)),
}
# merges, their undoing and runs often enough that a run falls between each and the next
KINDS = [*STEPS, "merge", "unmerge", "unmerge", "advance", "run", "run", "run"]
kinds = st.sampled_from(KINDS)
# each step, then (often) a run
step = st.tuples(kinds.flatmap(lambda k: STEPS[k].map(lambda args: (k, *args))), st.booleans())


class Twin:
    """One of the two data directories, with the names of its customers (the email each was
    created for, the same in both, where the customer ids are not)."""

    def __init__(self, tp: Touchpoint) -> None:
        self.tp = tp
        self.names: dict[str, str] = {}
        self.merges: list[int] = []
        (tp.settings.data_dir / "loyalty.toml").write_text(POLICY, encoding="utf-8")

    def ingest(self, item: dict[str, Any]) -> None:
        report = self.tp.ingestor.ingest([(0, item)])
        assert [r.status for r in report.results] == ["accepted"], report.results
        with read_connection(self.tp.engine) as conn:
            for cid in conn.scalars(select(customers.c.id)):
                if cid not in self.names:  # just created: it holds its event's key alone
                    keys = conn.scalars(
                        select(identities.c.key).where(identities.c.customer_id == cid)
                    )
                    self.names[cid] = min(keys).partition(":")[2]

    def customer(self, email: str) -> str | None:
        with read_connection(self.tp.engine) as conn:
            try:
                return find_one(conn, email, default_region="US")
            except TouchpointError:
                return None

    def merge(self, one: str, other: str) -> str:
        first, second = self.customer(one), self.customer(other)
        if first is None or second is None or first == second:
            return "skipped"
        self.merges.append(identity.merge_customers(self.tp, first, second).id)
        return "merged"

    def unmerge(self) -> str:
        while self.merges:
            try:
                identity.unmerge(self.tp, self.merges.pop())
                return "unmerged"
            except TouchpointError as exc:
                return type(exc).__name__
        return "skipped"

    def done(self, ran: loyalty.LoyaltyRun) -> list[tuple[Any, ...]]:
        """What a run found, named by email."""
        found: list[tuple[Any, ...]] = [
            (self.names[r.referrer_id], self.names[r.referred_id], r.points, r.at, r.recorded)
            for r in ran.rewards
        ]
        for c in ran.tiers:
            found.append(
                (self.names[c.customer_id], c.before, c.after, c.why, c.balance, c.recorded)
            )
        return sorted(found, key=repr)

    def written(self) -> list[tuple[Any, ...]]:
        """The job's interactions (tier changes, rewards), named by email, in a stable order."""
        query = select(
            interactions.c.id,
            interactions.c.customer_id,
            interactions.c.occurred_at,
            interactions.c.properties,
        ).where(interactions.c.id.like("tier-%") | interactions.c.id.like("referral-%"))
        with read_connection(self.tp.engine) as conn:
            rows = conn.execute(query).all()
        named = []
        for id_, cid, at, properties in rows:
            properties = dict(properties)
            if "referred" in properties:
                properties["referred"] = self.names[properties["referred"]]
            kind = "tier" if id_.startswith("tier-") else "referral-" + self.names[id_[9:]]
            when = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            named.append((kind, self.names[cid], when, sorted(properties.items(), key=str)))
        return sorted(named, key=repr)


def item(n: int, kind: str, email: str, amount: Any, at: datetime) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"p{n}",
        "channel": "web",
        "occurred_at": at.isoformat(),
        "customer": {"email": email},
    }
    if kind in ("earn", "redeem"):
        name = "loyalty_points" if kind == "earn" else "loyalty_redeemed"
        return {**base, "type": "custom", "name": name, "properties": {"points": amount}}
    if kind == "buy":
        return {**base, "type": "purchase", "revenue": amount, "currency": "USD"}
    if kind == "refer":
        return {**base, "type": "referral", "properties": {"referrer": amount}}
    return {**base, "type": "signup"}


def play(
    incremental: Twin, full: Twin, steps: list[tuple[tuple[str, str, Any, int], bool]]
) -> None:
    note(repr(steps))
    clock = START
    planned = [
        one for taken, then_run in steps for one in (taken, ("run", "", 0, 0))[: 1 + then_run]
    ]
    for n, (kind, email, amount, days) in enumerate([*planned, ("run", "", 0, 0)]):
        if kind == "advance":
            clock = min(clock + timedelta(days=amount), LAST)
        elif kind == "merge":
            assert incremental.merge(email, amount) == full.merge(email, amount)
        elif kind == "unmerge":
            assert incremental.unmerge() == full.unmerge()
        elif kind == "run":
            ran = loyalty.run(incremental.tp, clock)
            rewards = loyalty.reward_referrals(full.tp, now=clock)
            tiers = loyalty.move_tiers(full.tp, now=clock)
            # the same found, each stored or (an id stored before) not, as the full job's
            assert incremental.done(ran) == full.done(loyalty.LoyaltyRun(rewards, tiers)), n
            assert incremental.written() == full.written(), (n, clock)
        else:
            at = clock + timedelta(days=days)
            for twin in (incremental, full):
                twin.ingest(item(n, kind, email, amount, at))


@contextmanager
def twins(
    data_dirs: tuple[Path, Path], database_urls: tuple[str | None, str | None]
) -> Iterator[tuple[Twin, Twin]]:
    opened = [
        open_touchpoint(Settings(data_dir=d, database_url=u))
        for d, u in zip(data_dirs, database_urls, strict=True)
    ]
    try:
        yield Twin(opened[0]), Twin(opened[1])
    finally:
        for tp in opened:
            tp.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40))
@example(steps=UNDONE)
def test_incremental_runs_write_what_full_runs_write_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[tuple[str, str, Any, int], bool]]
) -> None:
    n = next(_example)
    dirs = (tmp_path_factory.mktemp(f"loyinc{n}"), tmp_path_factory.mktemp(f"loyfull{n}"))
    with twins(dirs, (None, None)) as (incremental, full):
        play(incremental, full, steps)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=1, max_size=40))
@example(steps=UNDONE)
def test_incremental_runs_write_what_full_runs_write_on_postgres(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    steps: list[tuple[tuple[str, str, Any, int], bool]],
) -> None:
    n = next(_example)
    dirs = (tmp_path_factory.mktemp(f"loypginc{n}"), tmp_path_factory.mktemp(f"loypgfull{n}"))
    urls = (create_database(postgres_url), create_database(postgres_url))
    with twins(dirs, urls) as (incremental, full):
        play(incremental, full, steps)
