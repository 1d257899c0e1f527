"""Loyalty (domain/loyalty.py) as use cases: a customer's ledger with its balance, expiry and
tier; redeeming points, refused past the balance even under concurrent redemptions; and the tier
job that moves customers up and down by the last 12 months' points and spend."""

from __future__ import annotations

import hashlib
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from touchpoint.automation.messages import identity_of
from touchpoint.automation.playbooks import line_of
from touchpoint.domain import loyalty as terms
from touchpoint.domain.loyalty import DEFAULT_POLICY, Loyalty, Policy, fold
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.projections.contract import LogBatch
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import current_id
from touchpoint.store import automation as automation_store
from touchpoint.store import loyalty as store
from touchpoint.store.engine import read_connection


def policy_path(data_dir: Path) -> Path:
    return data_dir / terms.POLICY_FILE


def load_policy(data_dir: Path) -> Policy:
    """The data directory's loyalty.toml (expiry, tiers), else no expiry and no tier rules; a
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
    return (
        f"Loyalty: {found.balance} points ({found.earned} earned, {found.redeemed} redeemed"
        f"{expired}){tier}"
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
