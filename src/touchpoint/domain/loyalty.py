"""Loyalty points and tiers, as interactions in the log (no table of their own): an award is a
`custom` interaction named `loyalty_points` with `properties.points` (and a reason), a redemption
one named `loyalty_redeemed` with the points spent, a tier one named `loyalty_tier` with
`properties.tier` (null: no tier).

Expiry is computed, not stored: under a policy of N months, each award's points expire N months
after it was earned, and redemptions spend the oldest unexpired points first (FIFO), so what
expires is what was neither spent nor already expired. A customer's balance is earned minus
redeemed minus expired; their tier is the last one set. The policy (expiry, tier thresholds,
the referral reward) is a TOML file in the data directory, read by `parse_policy`.

A referral is a `referral` interaction of the referred customer whose properties name who
referred them (`referrer_of`); when the referred customer first purchases, the referrer is
awarded the policy's referral points (an award whose reason is REFERRAL_REASON), once."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from touchpoint.domain.vocabulary import InteractionType

POINTS: Final = "loyalty_points"
REDEEMED: Final = "loyalty_redeemed"
TIER: Final = "loyalty_tier"
NAMES: Final = (POINTS, REDEEMED, TIER)
MAX_POINTS: Final = 1_000_000  # one award or redemption
TIER_MONTHS: Final = 12  # tiers qualify on the balance or the last 12 months' spend
POLICY_FILE: Final = "loyalty.toml"
REFERRAL: Final = InteractionType.REFERRAL.value  # the referred customer's interaction
REFERRAL_REASON: Final = "referral"  # the reason of the referrer's award
# The properties of a referral naming the referrer, the first present counting: `referrer` is a
# customer id (cus_…) or an email, `referrer_email` an email, `referrer_external_id` an external
# id (what the demo business sends).
REFERRER_PROPERTIES: Final = ("referrer", "referrer_email", "referrer_external_id")


@dataclass(frozen=True, slots=True)
class Entry:
    """One loyalty interaction of the ledger."""

    id: str
    at: datetime
    name: str  # POINTS, REDEEMED or TIER
    points: int  # 0 for a tier, or points that are not a whole number
    reason: str | None = None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier and what qualifies for it: a points balance (as `fold` computes it: earned minus
    redeemed minus expired) of at least `points`, or at least `spend` in purchase revenue over
    the last TIER_MONTHS months (either one suffices)."""

    name: str
    points: int | None = None
    spend: float | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    expire_months: int | None = None  # None: points never expire
    tiers: tuple[Tier, ...] = ()  # lowest first; empty: tiers are set by playbooks only
    referral_points: int = 0  # awarded to the referrer at the first purchase; 0: no reward


DEFAULT_POLICY: Final = Policy()


@dataclass(frozen=True, slots=True)
class Loyalty:
    balance: int
    earned: int
    redeemed: int
    tier: str | None
    expired: int = 0
    entries: tuple[Entry, ...] = ()
    referrals: int = 0  # awards for a referred customer's first purchase


def whole_points(value: Any) -> int:
    """Points as stored: a whole number, else nothing (0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the month lacks is its last (31 Jan + 1 = 28
    or 29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def fold(
    entries: Iterable[Entry], policy: Policy = DEFAULT_POLICY, now: datetime | None = None
) -> Loyalty:
    """The ledger in the order it occurred, folded at `now` (None: no expiry is applied): each
    award is a lot; a redemption spends the oldest lots first; a lot still holding points when
    its expiry comes (before a redemption, or by `now`) expires with what it holds."""
    kept = tuple(entries)
    lots: list[list[Any]] = []  # [expires_at or None, points left], oldest first
    earned = redeemed = expired = 0
    tier: str | None = None

    def expire(upto: datetime | None) -> int:
        gone = 0
        for lot in lots:
            if upto is not None and lot[0] is not None and lot[0] <= upto and lot[1]:
                gone, lot[1] = gone + lot[1], 0
        return gone

    for entry in kept:
        expired += expire(entry.at)
        if entry.name == POINTS:
            earned += entry.points
            lots.append([expiry_of(entry.at, policy), entry.points])
        elif entry.name == REDEEMED:
            redeemed += entry.points
            owed = entry.points
            for lot in lots:
                spent = min(owed, lot[1])
                lot[1] -= spent
                owed -= spent
        elif entry.name == TIER:
            tier = entry.tier
    expired += expire(now)
    referrals = sum(1 for e in kept if e.name == POINTS and e.reason == REFERRAL_REASON)
    return Loyalty(earned - redeemed - expired, earned, redeemed, tier, expired, kept, referrals)


def expiry_of(earned_at: datetime, policy: Policy) -> datetime | None:
    """When the points of an award earned at `earned_at` expire under `policy` (None: never)."""
    return add_months(earned_at, policy.expire_months) if policy.expire_months else None


# add_months keeps the day or takes the month's last, so an award's expiry is at most 3 days
# before the same day N months on: a day's slack either side keeps every award of a range.
_MONTH_END_SLACK: Final = timedelta(days=4)


def earned_expiring_between(
    policy: Policy, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """A range of earning moments holding every award whose expiry falls in (start, end] (with a
    few days more either side: `expiry_of` says exactly); None when points never expire."""
    if not policy.expire_months:
        return None
    months = policy.expire_months
    return add_months(start, -months) - _MONTH_END_SLACK, add_months(
        end, -months
    ) + _MONTH_END_SLACK


def spend_window(now: datetime) -> tuple[datetime, datetime]:
    """The purchases that count for a tier at `now`: occurred in [since, now], TIER_MONTHS back."""
    return add_months(now, -TIER_MONTHS), now


def policy_version(policy: Policy) -> int:
    """A number that changes with the policy (its expiry, tiers and reward), for the loyalty job's
    mark: a run under another policy than the last one's starts over from every customer."""
    return int(hashlib.sha256(repr(policy).encode()).hexdigest()[:7], 16)


def tier_for(points: int, spend: float, tiers: Iterable[Tier]) -> str | None:
    """The highest tier (the last listed) whose points or spend threshold is met."""
    found: str | None = None
    for tier in tiers:
        if (tier.points is not None and points >= tier.points) or (
            tier.spend is not None and spend >= tier.spend
        ):
            found = tier.name
    return found


def last_tier_id(entries: Iterable[Entry]) -> str | None:
    """The id of the ledger's last tier interaction (None: no tier was ever set)."""
    found: str | None = None
    for entry in entries:
        if entry.name == TIER:
            found = entry.id
    return found


def tier_reason(points: int, spend: float, due: str | None, tiers: Iterable[Tier]) -> str:
    """Why `due` is the tier for this balance and 12 months' spend, for a person to read."""
    if due is None:
        return f"balance {points} points and {spend:.2f} spent in {TIER_MONTHS} months meet no tier"
    tier = next(t for t in tiers if t.name == due)
    met = []
    if tier.points is not None and points >= tier.points:
        met.append(f"balance {points} points >= {tier.points}")
    if tier.spend is not None and spend >= tier.spend:
        met.append(f"{spend:.2f} spent in {TIER_MONTHS} months >= {tier.spend:.2f}")
    return " and ".join(met)


def referrer_of(properties: Mapping[str, Any]) -> tuple[str, str] | None:
    """Who a referral names as the referrer, as (kind, value): kind `customer` (an id, cus_…),
    `email` or `external_id`; None when it names nobody (e.g. the referrer's own invitation)."""
    for key in REFERRER_PROPERTIES:
        value = properties.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if key == "referrer_external_id":
            return "external_id", value
        if key == "referrer" and value.startswith("cus_"):
            return "customer", value
        return "email", value
    return None


def parse_policy(raw: Mapping[str, Any]) -> tuple[Policy, list[tuple[str, str]]]:
    """A policy from the loyalty file's mapping, with its problems as (path, message) pairs:
    `expire_after_months = 12`, `[[tiers]]` tables (name, points and/or spend), lowest first,
    and `[referrals] reward_points = 100` (default 0: a referral earns nothing)."""
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in ("expire_after_months", "tiers", "referrals"):
            problems.append((key, "unknown key; expected expire_after_months, tiers or referrals"))
    months = raw.get("expire_after_months")
    if months is not None and (whole_points(months) < 1 or months > 1200):
        problems.append(("expire_after_months", "must be a whole number of months from 1 to 1200"))
        months = None
    tiers: list[Tier] = []
    listed = raw.get("tiers", [])
    if not isinstance(listed, list):
        problems.append(("tiers", "must be [[tiers]] tables"))
        listed = []
    for n, table in enumerate(listed):
        found = _tier(table, f"tiers[{n}]", problems)
        if found is not None:
            tiers.append(found)
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        problems.append(("tiers", "a tier is named twice"))
    return Policy(months, tuple(tiers), _referral_points(raw, problems)), problems


def _referral_points(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> int:
    table = raw.get("referrals", {})
    if not isinstance(table, Mapping):
        problems.append(("referrals", "must be a [referrals] table"))
        return 0
    for key in table:
        if key != "reward_points":
            problems.append((f"referrals.{key}", "unknown key; expected reward_points"))
    points = table.get("reward_points", 0)
    if whole_points(points) != points or not 0 <= points <= MAX_POINTS:
        problems.append(
            ("referrals.reward_points", f"must be a whole number from 0 to {MAX_POINTS}")
        )
        return 0
    return int(points)


def _tier(table: Any, where: str, problems: list[tuple[str, str]]) -> Tier | None:
    if not isinstance(table, Mapping):
        problems.append((where, "must be a table with name, and points and/or spend"))
        return None
    for key in table:
        if key not in ("name", "points", "spend"):
            problems.append((f"{where}.{key}", "unknown key; expected name, points, spend"))
    name = table.get("name")
    if not isinstance(name, str) or not name:
        problems.append((f"{where}.name", "missing (text)"))
    points, spend = table.get("points"), table.get("spend")
    if points is not None and (whole_points(points) < 0 or points != whole_points(points)):
        problems.append((f"{where}.points", "must be a whole number, 0 or more"))
    ok_spend = isinstance(spend, int | float) and not isinstance(spend, bool) and spend >= 0
    if spend is not None and not ok_spend:
        problems.append((f"{where}.spend", "must be an amount, 0 or more"))
    if points is None and spend is None:
        problems.append((where, "needs points or spend (or both)"))
    if not isinstance(name, str) or not name:
        return None
    amount = float(spend) if ok_spend and isinstance(spend, int | float) else None
    return Tier(name, points if isinstance(points, int) else None, amount)
