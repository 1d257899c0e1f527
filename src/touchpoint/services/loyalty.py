"""Loyalty (domain/loyalty.py) as use cases: a customer's ledger with its balance, expiry and
tier; redeeming points, refused past the balance even under concurrent redemptions; the tier job
that moves customers up and down by their balance and the last 12 months' spend; and the
referral rewards, paid to a referrer when the customer they referred first purchases."""

from __future__ import annotations

import hashlib
import logging
import secrets
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection

from touchpoint.automation.messages import identity_of
from touchpoint.automation.playbooks import line_of
from touchpoint.domain import loyalty as terms
from touchpoint.domain.loyalty import DEFAULT_POLICY, Loyalty, Policy, fold, tier_for
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.projections.contract import LogBatch
from touchpoint.runtime import Touchpoint
from touchpoint.services import loyalty_marks as marks
from touchpoint.services.customers import current_id
from touchpoint.store import automation as automation_store
from touchpoint.store import customers as customer_store
from touchpoint.store import loyalty as store
from touchpoint.store.engine import read_connection, write_transaction

log = logging.getLogger("touchpoint.loyalty")


def policy_path(data_dir: Path) -> Path:
    return data_dir / terms.POLICY_FILE


def load_policy(data_dir: Path) -> Policy:
    """The data directory's loyalty.toml (expiry, tiers, the referral reward), else none; a
    file with problems is refused as a whole, each problem by line."""
    path = policy_path(data_dir)
    if not path.is_file():
        return DEFAULT_POLICY
    source = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path.name}: not valid TOML: {exc}") from None
    policy, problems = terms.parse_policy(raw)
    if problems:
        lines = source.splitlines()
        raise ValidationError(
            "; ".join(f"{path.name}:{line_of(lines, w)}: {w}: {m}" for w, m in problems)
        )
    return policy


def loyalty_of(
    conn: Connection,
    customer_id: str,
    *,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> Loyalty:
    """The ledger folded at `now`: earned, redeemed, expired (under `policy`), the balance and
    the last tier set."""
    return fold(store.loyalty_entries(conn, current_id(conn, customer_id)), policy, now)


def balance(tp: Touchpoint, customer_id: str, *, now: datetime | None = None) -> Loyalty:
    """A customer's loyalty now (or at `now`) under the data directory's policy."""
    policy = load_policy(tp.settings.data_dir)
    with read_connection(tp.engine) as conn:
        return loyalty_of(conn, customer_id, policy=policy, now=now or datetime.now(UTC))


def customer_of(tp: Touchpoint, customer_id: str) -> str:
    """The customer an id names now (a merged-away id: its survivor); NotFound if none."""
    with read_connection(tp.engine) as conn:
        return current_id(conn, customer_id)


def describe(found: Loyalty) -> str | None:
    """One line for a customer's page (None: no loyalty activity)."""
    if not (found.earned or found.redeemed or found.tier):
        return None
    tier = f", tier {found.tier}" if found.tier else ""
    expired = f", {found.expired} expired" if found.expired else ""
    s = "s" if found.referrals != 1 else ""
    referred = f", referred {found.referrals} customer{s} who bought" if found.referrals else ""
    return (
        f"Loyalty: {found.balance} points ({found.earned} earned, {found.redeemed} redeemed"
        f"{expired}){tier}{referred}"
    )


# --- redeeming ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redemption:
    customer_id: str
    id: str  # the redemption's interaction id (its idempotency key)
    points: int
    recorded: bool  # False: this id was redeemed before, nothing more was spent
    loyalty: Loyalty  # after it
    at: datetime


class _Guarded:
    """The runtime's projections, with the balance check run first inside the ingest's write
    transaction (after the append): a redemption that leaves less than nothing undoes the whole
    transaction. The writer lock (SQLite's single writer, PostgreSQL's advisory lock) makes two
    concurrent redemptions check one after the other."""

    def __init__(self, tp: Touchpoint, policy: Policy, now: datetime, asked: int) -> None:
        self.tp, self.policy, self.now, self.asked = tp, policy, now, asked

    def apply(self, conn: Connection, batch: LogBatch) -> None:
        for row in batch.rows:
            after = loyalty_of(conn, str(row["customer_id"]), policy=self.policy, now=self.now)
            if after.balance < 0:
                had = after.balance + self.asked
                raise Conflict(
                    f"not enough points: the balance is {had}, {self.asked} asked to redeem"
                )
        self.tp.projections.apply(conn, batch)


def redeem(
    tp: Touchpoint,
    customer_id: str,
    points: int,
    reason: str,
    *,
    redemption_id: str | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Spend `points` of the customer's balance (a `loyalty_redeemed` interaction). Refused
    (Conflict) past the balance; the same `redemption_id` again spends nothing more."""
    from touchpoint.ingest.pipeline import Ingestor

    if isinstance(points, bool) or not 0 < points <= terms.MAX_POINTS:
        raise ValidationError(f"points must be a whole number from 1 to {terms.MAX_POINTS}")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise ValidationError("reason must be text of 1 to 200 characters")
    if redemption_id is not None and not 0 < len(redemption_id.strip()) <= 100:
        raise ValidationError("id must be text of 1 to 100 characters")
    moment = now or datetime.now(UTC)
    policy = load_policy(tp.settings.data_dir)
    with read_connection(tp.engine) as conn:
        cid = current_id(conn, customer_id)
        keys = automation_store.identity_keys(conn, cid)
        if redemption_id is not None:
            interaction_id = f"redeem-{_digest(redemption_id.strip())}"
            before = store.redemption(conn, interaction_id)
            if before is not None:
                return _again(conn, before, cid, interaction_id, points, policy, moment)
        else:
            interaction_id = f"redeem-{secrets.token_hex(12)}"
    identity = identity_of({"identity_keys": keys})
    if not identity:
        raise NotFound(f"customer {cid!r} has no identity to record a redemption for")
    item = {
        "id": interaction_id,
        "type": InteractionType.CUSTOM.value,
        "name": terms.REDEEMED,
        "channel": "web",
        "direction": "inbound",
        "occurred_at": moment.isoformat(),
        "customer": identity,
        "properties": {"points": points, "reason": reason},
    }
    guarded = Ingestor(tp.engine, tp.settings, _Guarded(tp, policy, moment, points))
    guarded.on_stored = tp.ingestor.on_stored  # the scheduler wakes as for any ingest
    report = guarded.ingest([(0, item)])
    result = report.results[0]
    if result.status in ("duplicate", "conflict"):  # the same id raced in meanwhile
        with read_connection(tp.engine) as conn:
            before = store.redemption(conn, interaction_id)
            if before is not None:
                return _again(conn, before, cid, interaction_id, points, policy, moment)
    if result.status != "accepted":
        raise ValidationError(f"redemption not recorded: {result.reason or result.status}")
    with read_connection(tp.engine) as conn:
        after = loyalty_of(conn, cid, policy=policy, now=moment)
    return Redemption(result.customer_id or cid, interaction_id, points, True, after, moment)


def _again(
    conn: Connection,
    before: Mapping[str, Any],
    cid: str,
    interaction_id: str,
    points: int,
    policy: Policy,
    now: datetime,
) -> Redemption:
    spent = terms.whole_points((before["properties"] or {}).get("points"))
    if before["name"] != terms.REDEEMED or current_id(conn, before["customer_id"]) != cid:
        raise Conflict("this redemption id was used for another customer or interaction")
    if spent != points:
        raise Conflict(f"this redemption id already redeemed {spent} points, not {points}")
    return Redemption(
        cid, interaction_id, points, False, loyalty_of(conn, cid, policy=policy, now=now), now
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the tier job and the referral rewards (one periodic job of the scheduler) ----------------


@dataclass(frozen=True, slots=True)
class TierChange:
    customer_id: str
    before: str | None  # the tier last set (None: none)
    after: str | None  # the tier due (None: none)
    why: str
    balance: int
    spend: float  # purchase revenue in the last TIER_MONTHS months
    id: str  # the loyalty_tier interaction's id: customer, the tier it follows, the tier due
    recorded: bool = True  # False: a concurrent run wrote it first


@dataclass(frozen=True, slots=True)
class ReferralReward:
    referrer_id: str
    referred_id: str
    points: int
    id: str  # REWARD_PREFIX + the referred customer's id: one reward per referred customer
    at: datetime  # the referred customer's first purchase
    recorded: bool = True


@dataclass(frozen=True, slots=True)
class LoyaltyRun:
    rewards: list[ReferralReward] = field(default_factory=list)
    tiers: list[TierChange] = field(default_factory=list)


REWARD_PREFIX = "referral-"
_Written = TypeVar("_Written", TierChange, ReferralReward)


def run(tp: Touchpoint, now: datetime | None = None) -> LoyaltyRun:
    """The scheduler's loyalty job: referral rewards first (their points count for the tier),
    then the tier changes. Incremental: it reads only the customers whose results can have
    changed since its mark (services.loyalty_marks), the first run everyone; a run writes what
    the full job (`reward_referrals`, `move_tiers`) would. Safe to repeat and to crash: each
    write has a deterministic id, and the mark moves only once they are stored. A loyalty.toml
    with problems is logged and skipped (`touchpoint loyalty tiers` names them), never stopping
    the rest of the scheduler."""
    moment = now or datetime.now(UTC)
    try:
        policy = load_policy(tp.settings.data_dir)
    except ValidationError as exc:
        log.error("loyalty job skipped: %s", exc)
        return LoyaltyRun()
    if not policy.tiers and policy.referral_points <= 0:
        return LoyaltyRun()  # nothing to do; another policy later starts from everyone
    with read_connection(tp.engine) as conn:
        scope = marks.scope(conn, marks.read_mark(conn), policy, moment)
    rewards, rewarded = _reward_referrals(tp, moment, policy, scope.referred)
    tier_scope = None if scope.tiers is None else scope.tiers | {r.referrer_id for r in rewards}
    tiers, moved = _move_tiers(tp, moment, policy, tier_scope)
    if rewarded and moved:  # else the next run reads the same customers again
        with write_transaction(tp.engine) as conn:
            marks.write_mark(conn, scope.mark)
    done = LoyaltyRun(rewards, tiers)
    if done.rewards or done.tiers:
        log.info(
            "loyalty: %s referral rewards, %s tier changes", len(done.rewards), len(done.tiers)
        )
    return done


def move_tiers(
    tp: Touchpoint, *, now: datetime | None = None, policy: Policy | None = None
) -> list[TierChange]:
    """Every customer whose tier due (domain.loyalty.tier_for of their balance at `now` and
    their last 12 months' spend) is not the tier last set gets one `loyalty_tier` interaction,
    up or down. Nothing when the policy has no tiers (tiers are then the playbooks')."""
    moment = now or datetime.now(UTC)
    return _move_tiers(tp, moment, policy or load_policy(tp.settings.data_dir), None)[0]


def _move_tiers(
    tp: Touchpoint, now: datetime, policy: Policy, only: Collection[str] | None
) -> tuple[list[TierChange], bool]:
    """The tier changes of the customers `only` names (None: everyone's), written, and whether
    every one was (none refused)."""
    if not policy.tiers or (only is not None and not only):
        return [], True
    with read_connection(tp.engine) as conn:
        changes = _tier_changes(conn, policy, now, only)
        items = _tier_items(conn, changes, now)
    return _recorded(tp, changes, items)


def _tier_changes(
    conn: Connection, policy: Policy, now: datetime, only: Collection[str] | None = None
) -> list[TierChange]:
    since, _ = terms.spend_window(now)
    spend = store.spend_between(conn, since, now, only)
    changes: list[TierChange] = []

    def compare(cid: str, found: Loyalty) -> None:
        spent = spend.pop(cid, 0.0)
        due = tier_for(found.balance, spent, policy.tiers)
        if due == found.tier:
            return
        why = terms.tier_reason(found.balance, spent, due, policy.tiers)
        after = terms.last_tier_id(found.entries) or ""
        key = _digest(f"{cid}|{after}|{due or ''}")
        changes.append(TierChange(cid, found.tier, due, why, found.balance, spent, f"tier-{key}"))

    for cid, entries in store.ledgers(conn, now, only):
        compare(cid, fold(entries, policy, now))
    for cid in sorted(spend):  # spent, but no ledger yet
        compare(cid, fold((), policy, now))
    return changes


def _tier_items(
    conn: Connection, changes: Iterable[TierChange], now: datetime
) -> list[dict[str, Any] | None]:
    items: list[dict[str, Any] | None] = []
    for change in changes:
        properties = {
            "tier": change.after,
            "from": change.before,
            "why": change.why,
            "balance": change.balance,
            "spend": round(change.spend, 2),
        }
        items.append(_item(conn, change.customer_id, change.id, terms.TIER, now, properties))
    return items


def reward_referrals(
    tp: Touchpoint, *, now: datetime | None = None, policy: Policy | None = None
) -> list[ReferralReward]:
    """The referrer of each customer who has made their first purchase since being referred is
    awarded the policy's referral points, once per referred customer. A referral naming its own
    customer, an unknown referrer, or a customer who had bought before the referral earns
    nothing (and nothing is written)."""
    moment = now or datetime.now(UTC)
    return _reward_referrals(tp, moment, policy or load_policy(tp.settings.data_dir), None)[0]


def _reward_referrals(
    tp: Touchpoint, now: datetime, policy: Policy, only: Collection[str] | None
) -> tuple[list[ReferralReward], bool]:
    """The rewards due for the referred customers `only` names (None: everyone), written, and
    whether every one was (none refused)."""
    if policy.referral_points <= 0 or (only is not None and not only):
        return [], True
    rewards: list[ReferralReward] = []
    items: list[dict[str, Any] | None] = []
    with read_connection(tp.engine) as conn:
        seen: set[str] = set()
        for referred, referred_at, said, bought_at in store.referrals_unrewarded(
            conn, now, REWARD_PREFIX, only
        ):
            named = terms.referrer_of(said)
            if named is None or referred in seen:  # the first referral naming someone counts
                continue
            seen.add(referred)
            referrer = _customer_named(conn, *named)
            if referrer is None or referrer == referred or bought_at < referred_at:
                continue
            reward = ReferralReward(
                referrer, referred, policy.referral_points, REWARD_PREFIX + referred, bought_at
            )
            properties = {
                "points": reward.points,
                "reason": terms.REFERRAL_REASON,
                "referred": referred,
            }
            items.append(_item(conn, referrer, reward.id, terms.POINTS, bought_at, properties))
            rewards.append(reward)
    return _recorded(tp, rewards, items)


def _customer_named(conn: Connection, kind: str, value: str) -> str | None:
    """The customer a referral's referrer names now, if any."""
    try:
        if kind == "customer":
            return current_id(conn, value)
        key = marks.referrer_key(kind, value)
        found = customer_store.find_by_key(conn, key) if key is not None else None
        return current_id(conn, found) if found is not None else None
    except NotFound:
        return None


def _item(
    conn: Connection,
    customer_id: str,
    interaction_id: str,
    name: str,
    at: datetime,
    properties: dict[str, Any],
) -> dict[str, Any] | None:
    """A `custom` loyalty interaction the job writes for a customer (None: they have no identity
    to write it with)."""
    identity = identity_of({"identity_keys": automation_store.identity_keys(conn, customer_id)})
    if not identity:
        return None
    return {
        "id": interaction_id,
        "type": InteractionType.CUSTOM.value,
        "name": name,
        "channel": "web",
        "direction": "outbound",  # not the customer's own activity
        "occurred_at": at.isoformat(),
        "customer": identity,
        "properties": properties,
    }


def _recorded(
    tp: Touchpoint, found: list[_Written], items: list[dict[str, Any] | None]
) -> tuple[list[_Written], bool]:
    """Ingest the items; each found thing says whether it was stored now (an id stored before,
    by a concurrent run, stores nothing more). One without an identity is left out. With it,
    whether none was refused."""
    kept = [(thing, item) for thing, item in zip(found, items, strict=True) if item is not None]
    if not kept:
        return [], True
    report = tp.ingestor.ingest(enumerate(item for _thing, item in kept))
    stored = {r.id for r in report.results if r.status == "accepted"}
    for result in report.rejected:
        log.error("loyalty job: %s not recorded: %s", result.id, result.reason)
    return [replace(thing, recorded=thing.id in stored) for thing, _item in kept], not (
        report.rejected
    )


# --- the picture now ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierCount:
    tier: str | None  # None: no tier
    customers: int
    rule: terms.Tier | None = None  # what qualifies for it (None: a tier only playbooks set)


@dataclass(frozen=True, slots=True)
class ReferralCounts:
    referred: int  # customers whose referral names a referrer
    rewarded: int  # their referrer was rewarded
    waiting: int  # no first purchase yet
    unrewarded: int  # bought, not rewarded (bought before the referral, or the job is due)


@dataclass(frozen=True, slots=True)
class LoyaltySummary:
    policy_file: str
    policy: Policy
    customers: int
    tiers: list[TierCount]  # the policy's, lowest first, then the others set, then no tier
    moves_due: int  # customers whose tier due is not the tier last set (the job moves them)
    referrals: ReferralCounts


def summary(tp: Touchpoint, *, now: datetime | None = None) -> LoyaltySummary:
    """Customers per tier now (the tier last set, as each customer's page shows it), how many
    the tier job would move, and the referrals: rewarded, waiting for the referred customer's
    first purchase, or neither."""
    moment = now or datetime.now(UTC)
    policy = load_policy(tp.settings.data_dir)
    counted: dict[str | None, int] = {}
    with read_connection(tp.engine) as conn:
        customers = customer_store.count(conn)
        for _cid, entries in store.ledgers(conn, moment):
            tier = fold(entries, policy, moment).tier
            if tier is not None:
                counted[tier] = counted.get(tier, 0) + 1
        moves = len(_tier_changes(conn, policy, moment)) if policy.tiers else 0
        states = store.referral_states(conn, moment, REWARD_PREFIX)
    rows = [TierCount(t.name, counted.pop(t.name, 0), t) for t in policy.tiers]
    rows += [TierCount(name, n) for name, n in sorted((k, v) for k, v in counted.items() if k)]
    rows.append(TierCount(None, max(0, customers - sum(r.customers for r in rows))))
    return LoyaltySummary(
        str(policy_path(tp.settings.data_dir)), policy, customers, rows, moves, _referrals(states)
    )


def _referrals(states: list[tuple[str, dict[str, Any], bool, bool]]) -> ReferralCounts:
    seen: set[str] = set()
    rewarded = waiting = unrewarded = 0
    for referred, properties, was_rewarded, purchased in states:
        if referred in seen or terms.referrer_of(properties) is None:
            continue  # the first referral naming someone counts, as for the rewards
        seen.add(referred)
        if was_rewarded:
            rewarded += 1
        elif not purchased:
            waiting += 1
        else:
            unrewarded += 1
    return ReferralCounts(len(seen), rewarded, waiting, unrewarded)
