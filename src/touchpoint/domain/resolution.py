"""Identity resolution for a batch of events, as a pure function over the identity graph, and
what a merge does to profiles and what undoing one gives back.

Every event carries identity keys. The customer its strongest key names receives it (see
`identity.IDENTITY_KINDS`); every other customer a key of the event links is merged in, the one
created first surviving. An *implicit* link (a shared email, phone, cookie…) is blocked when the
two sides would together hold more keys of a kind than its merge limit (default: one external id),
or when a merge between the two was undone by hand: the event still lands, the contested key stays
with its owner, and the blocked link is a `Conflict`. An *explicit* link (an alias: `previous_id`)
is never blocked. Keys nobody owns yet go to the event's customer, who is new when no key of the
event links anyone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from touchpoint.domain.identity import (
    ALIAS_KIND,
    DEFAULT_MERGE_LIMITS,
    alias_partners,
    kind_of,
    strength,
    strongest,
)

UNMERGED = "unmerged"  # a conflict's reason when a merge between the two was undone by hand


@dataclass(frozen=True, slots=True)
class Merge:
    survivor_id: str
    merged_id: str
    event_index: int  # index into the batch of the event that tied the two customers
    linking_key: str
    # Keys first seen in this batch that the merged-away customer held when it merged (the
    # database knows the rest): with them the merge record lists every identity that moved.
    batch_keys: tuple[str, ...] = ()
    explicit: bool = False  # an alias tied them: merge protection does not apply


@dataclass(frozen=True, slots=True)
class Conflict:
    """An implicit merge that merge protection blocked."""

    customer_id: str  # where the event landed
    other_id: str  # who kept the contested key
    key: str  # the contested key, owned by `other_id`
    event_index: int
    reason: str  # "limit:<kind>" (both sides hold keys of a limited kind) or UNMERGED


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What merge protection needs to know of a stored customer."""

    limited_keys: frozenset[str] = frozenset()  # its keys of the kinds merge limits name
    kept_apart: frozenset[str] = frozenset()  # customers a merge with was undone by hand


NO_FACTS: Mapping[str, CustomerFacts] = MappingProxyType({})


@dataclass(slots=True)
class Resolution:
    customer_of_event: list[str]
    new_customers: list[str] = field(default_factory=list)
    new_identities: dict[str, str] = field(default_factory=dict)  # key -> final customer id
    merges: list[Merge] = field(default_factory=list)
    survivor_of: dict[str, str] = field(default_factory=dict)  # every merged-away id -> survivor
    conflicts: list[Conflict] = field(default_factory=list)


def resolve_batch(
    event_keys: Sequence[Sequence[str]],
    owner_of_key: Mapping[str, str],
    rank_of_customer: Mapping[str, tuple[str, int]],
    new_customer_id: Callable[[], str],
    *,
    limits: Mapping[str, int] = DEFAULT_MERGE_LIMITS,
    facts: Mapping[str, CustomerFacts] = NO_FACTS,
) -> Resolution:
    """Assign each event to a customer. `owner_of_key` holds the stored owner of every key the
    events carry (and of their alias partners, `identity.alias_partners`); `rank_of_customer`
    orders those owners by age; `facts` (read only for customers an event would merge) says what
    merge protection needs; `limits` maps a kind to the most keys of it a merge may unite."""
    resolver = _Resolver(owner_of_key, rank_of_customer, new_customer_id, limits, facts)
    assign = resolver.assign_simple
    for index, keys in enumerate(event_keys):
        if not assign(keys):
            resolver.resolve_links(index, keys)
    return resolver.finish()


def customers_to_check(
    event_keys: Iterable[Sequence[str]], owner_of_key: Mapping[str, str]
) -> set[str]:
    """The stored customers whose facts `resolve_batch` will probably read, to fetch them at once:
    those an event links with another customer, through an alias, or with a new strongest key.
    (Customers linked only through keys the batch itself creates are read one by one.)"""
    wanted: set[str] = set()
    no_merges: dict[str, str] = {}
    aliases = _has_alias(owner_of_key)
    for keys in event_keys:
        if _needs_no_decision(keys, owner_of_key, no_merges, aliases) is None:
            wanted.update(owner_of_key[k] for k in _with_partners(keys) if k in owner_of_key)
    return wanted


_ALIAS_PREFIX = ALIAS_KIND + ":"


def _has_alias(owners: Mapping[str, str]) -> bool:
    return any(key.startswith(_ALIAS_PREFIX) for key in owners)


def _needs_no_decision(
    keys: Sequence[str], owners: Mapping[str, str], parent: Mapping[str, str], aliases: bool
) -> tuple[str | None, list[str] | None] | None:
    """For an event that needs no merge decision — its known keys name one customer (or none),
    no alias is involved, and no new key outranks the known ones — that customer (None: a new
    one) and the event's new keys (None: none); otherwise None. The hot path: most events are
    these, so it is written for speed."""
    found: str | None = None
    unknown: list[str] | None = None
    get = owners.get
    for key in keys:
        if key.startswith(_ALIAS_PREFIX):
            return None
        cid = get(key)
        if cid is None:
            if unknown is None:
                unknown = [key]
            else:
                unknown.append(key)
            continue
        if parent:
            while cid in parent:
                cid = parent[cid]
        if found is None:
            found = cid
        elif cid != found:
            return None
    if unknown is not None:
        if aliases and any(p in owners for key in unknown for p in alias_partners(key)):
            return None  # a new id completes a pending alias
        if found is not None and strongest(keys) not in owners:
            return None  # a new strongest key beside a known customer: protection decides
    return found, unknown


def _with_partners(keys: Iterable[str]) -> list[str]:
    return [k for key in keys for k in (key, *alias_partners(key))]


@dataclass(frozen=True, slots=True)
class _Link:
    key: str  # the event's key (or its alias partner) that ties the event to a customer
    explicit: bool

    def order(self) -> tuple[bool, int, str]:
        return not self.explicit, strength(self.key), self.key


class _Resolver:
    """The state of one batch's resolution: the graph as it grows, merges, conflicts."""

    def __init__(
        self,
        owner_of_key: Mapping[str, str],
        rank_of_customer: Mapping[str, tuple[str, int]],
        new_customer_id: Callable[[], str],
        limits: Mapping[str, int],
        facts: Mapping[str, CustomerFacts],
    ) -> None:
        self.owners = dict(owner_of_key)
        self.aliases = _has_alias(self.owners)  # whether a pending alias can be completed
        self.ranks = rank_of_customer
        self.new_customer_id = new_customer_id
        self.limits = dict(limits)
        self.facts = facts
        self.new_ranks: dict[str, tuple[str, int]] = {}  # customers created by this batch
        self.parent: dict[str, str] = {}  # merged-away customer -> the one it merged into
        self.batch_keys_of: dict[str, list[str]] = {}  # customer -> keys it got in this batch
        # customer -> stored limited keys of customers merged into it in this batch (the keys
        # it got from events are in batch_keys_of)
        self.gained: dict[str, set[str]] = {}
        self.blocked: list[tuple[int, str, str, str, str]] = []  # index, customer, other, key, why
        self.result = Resolution(customer_of_event=[])

    # --- one event ------------------------------------------------------------------------
    def assign_simple(self, keys: Sequence[str]) -> bool:
        """Assign an event that needs no merge decision (most do; see `_needs_no_decision`)."""
        simple = _needs_no_decision(keys, self.owners, self.parent, self.aliases)
        if simple is None:
            return False
        cid, unknown = simple
        if cid is None:
            cid = self.create()
        if unknown is not None:
            self.attach(cid, unknown)
        self.result.customer_of_event.append(cid)
        return True

    def resolve_links(self, index: int, keys: Sequence[str]) -> None:
        """An event that links several customers, involves an alias, or whose strongest key is
        new beside a known one: the merges, and what merge protection blocks."""
        links, unknown = self.links(keys)
        anchor = strongest(keys)
        owner = self.owners.get(anchor) if anchor is not None else None
        group = self.root(owner) if owner is not None else None
        blocked: list[tuple[str, str, str]] = []
        others = sorted(
            ((cid, link) for cid, link in links.items() if cid != group),
            key=lambda item: (item[1].order(), self.rank(item[0])),
        )
        # read only when another customer is linked: most events link one, and facts cost a query
        group_keys = set(self.held(group)) if others and group is not None else set()
        group_keys.update(k for k in unknown if kind_of(k) in self.limits)
        for other, link in others:
            reason = None if link.explicit else self.protection(group, group_keys, other)
            if reason is not None:
                blocked.append((other, link.key, reason))
                continue
            group_keys |= self.held(other)
            group = other if group is None else self.merge(group, other, index, link)
        if group is None:
            group = self.create()
        self.attach(group, unknown)
        self.result.customer_of_event.append(group)
        self.blocked.extend((index, group, other, key, why) for other, key, why in blocked)

    def links(self, keys: Sequence[str]) -> tuple[dict[str, _Link], list[str]]:
        """The customers the event's keys tie it to (each with its best link), and its new keys.
        An alias key links its partners whenever it is seen; a new external or anonymous id
        links a pending alias of its value."""
        links: dict[str, _Link] = {}
        unknown: list[str] = []
        for key in keys:
            owner = self.owners.get(key)
            is_alias = kind_of(key) == ALIAS_KIND
            if owner is None:
                unknown.append(key)
            else:
                _keep_best(links, self.root(owner), _Link(key, is_alias))
            if owner is None or is_alias:
                for partner in alias_partners(key):
                    found = self.owners.get(partner)
                    if found is not None:
                        edge = key if is_alias else partner
                        _keep_best(links, self.root(found), _Link(edge, True))
        return links, unknown

    def protection(self, group: str | None, group_keys: set[str], other: str) -> str | None:
        """Why an implicit link of the event's group to `other` is blocked, or None."""
        theirs = self.held(other)
        for kind, limit in self.limits.items():
            mine = {k for k in group_keys if kind_of(k) == kind}
            their = {k for k in theirs if kind_of(k) == kind}
            if mine and their and len(mine | their) > limit:
                return f"limit:{kind}"
        if group is not None and self.kept_apart(group, other):
            return UNMERGED
        return None

    # --- the graph ------------------------------------------------------------------------
    def root(self, cid: str) -> str:
        while cid in self.parent:
            cid = self.parent[cid]
        return cid

    def rank(self, cid: str) -> tuple[tuple[str, int], str]:
        found = self.new_ranks.get(cid)
        return (self.ranks[cid] if found is None else found), cid

    def stored(self, cid: str) -> CustomerFacts:
        if cid in self.new_ranks:
            return CustomerFacts()
        return self.facts.get(cid) or CustomerFacts()

    def held(self, cid: str) -> set[str]:
        """The customer's keys of limited kinds, stored and gained in this batch."""
        limits = self.limits
        held = {k for k in self.stored(cid).limited_keys if kind_of(k) in limits}
        held.update(k for k in self.batch_keys_of.get(cid, ()) if kind_of(k) in limits)
        return held | self.gained.get(cid, set())

    def kept_apart(self, a: str, b: str) -> bool:
        return b in self.stored(a).kept_apart or a in self.stored(b).kept_apart

    def merge(self, group: str, other: str, index: int, link: _Link) -> str:
        survivor, loser = sorted((group, other), key=self.rank)
        self.parent[loser] = survivor
        moved = self.batch_keys_of.pop(loser, [])
        self.result.merges.append(
            Merge(survivor, loser, index, link.key, tuple(moved), explicit=link.explicit)
        )
        self.gained.setdefault(survivor, set()).update(self.held(loser))
        self.batch_keys_of.setdefault(survivor, []).extend(moved)
        return survivor

    def create(self) -> str:
        cid = self.new_customer_id()
        self.new_ranks[cid] = ("~new", len(self.result.new_customers))
        self.result.new_customers.append(cid)
        return cid

    def attach(self, cid: str, keys: list[str]) -> None:
        owners, new_identities = self.owners, self.result.new_identities
        for key in keys:
            owners[key] = cid
            new_identities[key] = cid
        found = self.batch_keys_of.get(cid)
        if found is None:
            self.batch_keys_of[cid] = list(keys)
        else:
            found.extend(keys)
        if not self.aliases:
            self.aliases = any(key.startswith(_ALIAS_PREFIX) for key in keys)

    def finish(self) -> Resolution:
        result = self.result
        survivor_of = {loser: self.root(loser) for loser in self.parent}
        if survivor_of:
            result.survivor_of = survivor_of
            result.customer_of_event = [survivor_of.get(c, c) for c in result.customer_of_event]
            for key, cid in result.new_identities.items():
                result.new_identities[key] = survivor_of.get(cid, cid)
        for index, cid, other, key, reason in self.blocked:
            mine, theirs = survivor_of.get(cid, cid), survivor_of.get(other, other)
            if mine != theirs:  # a later link of the batch (an alias) merged them after all
                result.conflicts.append(Conflict(mine, theirs, key, index, reason))
        return result


def _keep_best(links: dict[str, _Link], cid: str, link: _Link) -> None:
    found = links.get(cid)
    if found is None or link.order() < found.order():
        links[cid] = link


# --- profiles ---------------------------------------------------------------------------------

TimedTraits = tuple[dict[str, Any], dict[str, str]]  # (traits, {trait: when it was said})


def say_trait(
    values: dict[str, Any], times: dict[str, str], name: str, value: Any, at: str
) -> None:
    """Set a trait if `at` (UTC text that sorts; "" = unknown, older than any) is at least as new
    as the value's: the newest value wins, by when it was said; a tie goes to the later call."""
    if name not in times or at >= times[name]:
        values[name] = value
        times[name] = at


def fold_profiles(profiles: Iterable[TimedTraits]) -> TimedTraits:
    """The profile of merged customers: each trait's newest value across them (a tie goes to the
    later profile, so pass the survivor last)."""
    values: dict[str, Any] = {}
    times: dict[str, str] = {}
    for traits, said in profiles:
        for name, value in traits.items():
            say_trait(values, times, name, value, said.get(name, ""))
    return values, times


def unmerge_traits(
    current: TimedTraits, survivor_then: TimedTraits, merged_then: TimedTraits
) -> TimedTraits:
    """The survivor's profile once a merge is undone: each trait whose value is still the one the
    merged-away profile brought (same value, same time, not also the survivor's own) goes back to
    what the survivor had before the merge, or away. Traits said since stay."""
    values, times = dict(current[0]), dict(current[1])
    mine, mine_at = survivor_then
    theirs, theirs_at = merged_then
    for name, value in theirs.items():
        brought = (value, theirs_at.get(name, ""))
        if name not in values or not _same(brought, (values[name], times.get(name, ""))):
            continue
        if name in mine and _same(brought, (mine[name], mine_at.get(name, ""))):
            continue
        if name in mine:
            values[name] = mine[name]
            _set_time(times, name, mine_at.get(name))
        else:
            del values[name]
            times.pop(name, None)
    return values, times


def _set_time(times: dict[str, str], name: str, at: str | None) -> None:
    if at is None:
        times.pop(name, None)
    else:
        times[name] = at


def _same(a: Any, b: Any) -> bool:
    """Equal as stored JSON (Python equates 1, 1.0 and True; JSON does not)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# --- undoing a merge --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """What goes back to the merged-away customer when a merge is undone."""

    keys_back: frozenset[str]
    interactions_back: tuple[int, ...]  # log positions (seq), ascending


def split_merge(
    interactions: Sequence[tuple[int, Sequence[str] | None]],
    held_keys: Collection[str],
    moved_keys: Collection[str],
    merge_position: int,
    legacy_back: Collection[int] = (),
) -> Split:
    """Divide the survivor's interactions (seq, the identity keys each carried) and keys
    (`held_keys`) between it and the customer a merge took in.

    The merged customer's keys (`moved_keys`) go back; the survivor keeps the keys it had before
    the merge (`merge_position`: the log's last seq then). Each interaction goes to the side of
    its strongest such key; a key gained since goes back if every interaction that carried it
    did. Interactions stored without their keys (before they were kept) go back when they are in
    `legacy_back`, the ones the merge moved."""
    held = set(held_keys)
    back = set(moved_keys) & held
    stay = {
        k
        for seq, keys in interactions
        if keys and seq <= merge_position
        for k in keys
        if k in held and k not in back
    }
    side: dict[int, bool] = {}
    undecided: list[tuple[int, Sequence[str]]] = []
    legacy = set(legacy_back)
    for seq, keys in interactions:
        if keys is None:
            side[seq] = seq in legacy
            continue
        seeded = [k for k in keys if k in back or k in stay]
        if seeded:
            side[seq] = strongest(seeded) in back
        else:
            undecided.append((seq, keys))
    keys_back = back | _followers(interactions, side, held - back - stay)
    for seq, keys in undecided:
        best = strongest(k for k in keys if k in held)
        side[seq] = best is not None and best in keys_back
    return Split(frozenset(keys_back), tuple(sorted(seq for seq, went in side.items() if went)))


def _followers(
    interactions: Sequence[tuple[int, Sequence[str] | None]],
    side: Mapping[int, bool],
    gained: set[str],
) -> set[str]:
    """The keys gained since the merge whose every decided carrier went back."""
    carried: dict[str, list[bool]] = {}
    for seq, keys in interactions:
        if keys is None or seq not in side:
            continue
        for key in keys:
            if key in gained:
                carried.setdefault(key, []).append(side[seq])
    return {key for key, sides in carried.items() if all(sides)}
