"""Where the scheduler's loyalty job got to, and whom its next run must read again.

The mark is kept in the checkpoints, as the projections and the other consumers keep theirs:
`loyalty` holds the log position a run read up to, its moment (`updated_at`) and the policy's
version; `loyalty.merges` and `loyalty.unmerges` the last merge and unmerge it saw. A run after
a mark reads only the customers whose results can have changed since (`Scope`): those with new
loyalty entries, purchases or referrals in the log, those a merge or an unmerge touched, those
with such a row whose moment came between the two runs (stored ahead of time), those whose points
expire between the two moments, and those whose 12 months' spend loses a purchase; for the
referral rewards also the referrals naming a customer who appeared or changed since (an unknown
referrer who is now known). With no mark, another policy, or a moment before the mark's, a run
reads everyone: the full job."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from touchpoint.domain import loyalty as terms
from touchpoint.domain.loyalty import Policy
from touchpoint.errors import ValidationError
from touchpoint.services.customers import lookup_keys
from touchpoint.store import identity as identity_store
from touchpoint.store import loyalty as store
from touchpoint.store import projections as checkpoints
from touchpoint.store.log import last_seq

LOG_MARK = "loyalty"
MERGES_MARK = "loyalty.merges"
UNMERGES_MARK = "loyalty.unmerges"


@dataclass(frozen=True, slots=True)
class Mark:
    position: int  # the log's last seq the run read
    merges: int  # the last merge's seq it saw
    unmerges: int  # the last unmerge's seq it saw
    at: datetime  # the run's moment
    version: int  # terms.policy_version of the policy it ran under


@dataclass(frozen=True, slots=True)
class Scope:
    """Whom a run reads: the customers whose tier it compares and the referred customers whose
    reward it looks at (None: everyone), and the mark to keep once it has written."""

    tiers: set[str] | None
    referred: set[str] | None
    mark: Mark

    @property
    def full(self) -> bool:
        return self.tiers is None


def read_mark(conn: Connection) -> Mark | None:
    found = checkpoints.read_checkpoints(conn)
    log, merged, unmerged = (found.get(n) for n in (LOG_MARK, MERGES_MARK, UNMERGES_MARK))
    if log is None or merged is None or unmerged is None:
        return None
    return Mark(log.position, merged.position, unmerged.position, log.updated_at, log.version)


def write_mark(conn: Connection, mark: Mark) -> None:
    """Keep `mark` (in the caller's write transaction)."""
    for name, source, position in (
        (LOG_MARK, "log", mark.position),
        (MERGES_MARK, "merges", mark.merges),
        (UNMERGES_MARK, "unmerges", mark.unmerges),
    ):
        checkpoints.write_checkpoint(
            conn, name, source=source, position=position, version=mark.version, now=mark.at
        )


def scope(conn: Connection, before: Mark | None, policy: Policy, now: datetime) -> Scope:
    """Whom a run at `now` after `before` reads, and the mark it then keeps."""
    merges, merged = store.merged_after(conn, before.merges if before else 0)
    unmerges, unmerged = identity_store.unmerged_customers(conn, before.unmerges if before else 0)
    after = Mark(last_seq(conn), merges, unmerges, now, terms.policy_version(policy))
    if (
        before is None
        or before.version != after.version
        or now < before.at
        or after.position < before.position
    ):
        return Scope(None, None, after)
    counting, every = store.appended_between(conn, before.position, after.position)
    touched = merged | unmerged
    changed = counting | touched | store.occurring_between(conn, before.at, now)
    tiers = changed | _spend_leaving(conn, before.at, now) | _expiring(conn, policy, before.at, now)
    referred = changed | _naming(conn, every | touched, now)
    return Scope(tiers, referred, after)


def _spend_leaving(conn: Connection, before: datetime, now: datetime) -> set[str]:
    """The customers with a purchase in the 12 months at `before` but not at `now`."""
    since, _ = terms.spend_window(before)
    until, _ = terms.spend_window(now)
    return store.purchases_between(conn, since, until)


def _expiring(conn: Connection, policy: Policy, before: datetime, now: datetime) -> set[str]:
    """The customers with an award whose points expire in (before, now]."""
    earned = terms.earned_expiring_between(policy, before, now)
    if earned is None:
        return set()
    found: set[str] = set()
    for cid, at in store.awards_between(conn, *earned):
        expires = terms.expiry_of(at, policy)
        if expires is not None and before < expires <= now:
            found.add(cid)
    return found


def _naming(conn: Connection, customer_ids: Collection[str], now: datetime) -> set[str]:
    """The referred customers whose referral names one of these customers (by id or by an
    identity key they hold now)."""
    if not customer_ids:
        return set()
    keys = store.keys_of(conn, customer_ids)
    # An ASCII email or external id normalises to itself trimmed (and, an email, lowered): one
    # that no key matches even so is passed over without normalising it.
    loose = {key.partition(":")[2].lower() for key in keys}
    found: set[str] = set()
    for referred, properties in store.referrals(conn, now):
        named = terms.referrer_of(properties)
        if named is None:
            continue
        kind, value = named
        if kind == "customer":
            hit = value in customer_ids
        else:
            hit = (not value.isascii() or value.lower() in loose) and (
                referrer_key(kind, value) in keys
            )
        if hit:
            found.add(referred)
    return found


def referrer_key(kind: str, value: str) -> str | None:
    """The identity key a referral's email or external id names (None: not a valid one)."""
    try:
        keys = lookup_keys(email=value) if kind == "email" else lookup_keys(external_id=value)
    except ValidationError:
        return None
    return keys[0] if keys else None
