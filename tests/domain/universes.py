"""Hypothesis strategies for identity resolution: people, the events they cause, and the
orders and batches those events arrive in.

Order-independence once merge protection exists (docs/decisions.md, "What is order-independent"):

1. *Uncontested* histories. Contract the explicit edges of the identity graph (an alias key with
   the external/anonymous id of its value, and with the other keys of its event) into alias
   classes; join classes by implicit edges (keys seen in one event). When no component holds two
   classes with external ids, every order and batch split gives the same customers — the
   components — as partitions of the events and of the keys.
2. *Contested* histories (shared emails and phones between people with their own external ids):
   who gets a contested key, and where an event carrying only contested keys lands, depend on
   arrival. What does not: two events with external ids are on one customer exactly when their
   ids are alias-linked; every key seen is owned by one live customer; no customer holds external
   ids of two alias classes; each event lands on a customer holding one of its keys, an event
   with an external id on that id's holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

Event = tuple[str, list[str]]  # (event id, identity keys)


@dataclass(frozen=True)
class History:
    events: list[Event]
    people: int


def _alias_key(value: str) -> str:
    return f"previous_id:{value}"


def _one_per_kind(keys: list[str]) -> list[str]:
    """An interaction names one email, one phone, one external and one anonymous id at most."""
    kinds: set[str] = set()
    kept = []
    for key in keys:
        kind = key.partition(":")[0]
        if kind not in kinds:
            kinds.add(kind)
            kept.append(key)
    return kept


@st.composite
def uncontested(draw: st.DrawFn) -> History:
    """People with disjoint keys and at most one external id each; aliases name another person's
    external id (or, if they have none, a cookie), so no component holds two classes with ids."""
    people = draw(st.integers(1, 4))
    keys: list[list[str]] = []
    external: list[str | None] = []
    for p in range(people):
        own = [
            f"email:p{p}@x.co",
            f"phone:+1415555010{p}",
            f"anonymous_id:a{p}0",
            f"anonymous_id:a{p}1",
        ]
        user = f"external_id:u{p}" if draw(st.booleans()) else None
        external.append(user)
        keys.append(([user] if user else []) + own)
    events: list[Event] = []
    for n in range(draw(st.integers(1, 14))):
        p = draw(st.integers(0, people - 1))
        chosen = draw(st.lists(st.sampled_from(keys[p]), min_size=1, max_size=3, unique=True))
        events.append((f"e{n}", _one_per_kind(chosen)))
    for n in range(draw(st.integers(0, 2)) if people > 1 else 0):
        p, q = draw(st.lists(st.integers(0, people - 1), min_size=2, max_size=2, unique=True))
        user = external[p]
        if user is None:
            continue
        target = external[q] or f"anonymous_id:a{q}0"
        events.append((f"alias{n}", [user, _alias_key(target.partition(":")[2])]))
    return History(events, people)


@st.composite
def contested(draw: st.DrawFn) -> History:
    """People each with their own external id and cookie, sharing emails and phones; aliases
    between external ids."""
    people = draw(st.integers(2, 4))
    shared = ["email:family@x.co", "email:office@x.co", "phone:+14155550100"]
    holders = {
        key: draw(st.lists(st.integers(0, people - 1), min_size=1, unique=True)) for key in shared
    }
    keys = [
        [f"external_id:u{p}", f"anonymous_id:a{p}"] + [k for k in shared if p in holders[k]]
        for p in range(people)
    ]
    events: list[Event] = []
    for n in range(draw(st.integers(1, 14))):
        p = draw(st.integers(0, people - 1))
        chosen = draw(st.lists(st.sampled_from(keys[p]), min_size=1, max_size=3, unique=True))
        events.append((f"e{n}", _one_per_kind(chosen)))
    for n in range(draw(st.integers(0, 2))):
        p, q = draw(st.lists(st.integers(0, people - 1), min_size=2, max_size=2, unique=True))
        events.append((f"alias{n}", [f"external_id:u{p}", _alias_key(f"u{q}")]))
    return History(events, people)


@st.composite
def arrival(draw: st.DrawFn, events: list[Any]) -> list[list[Any]]:
    """The events shuffled and cut into batches of random sizes."""
    shuffled = draw(st.permutations(events))
    batches: list[list[Any]] = []
    i = 0
    while i < len(shuffled):
        size = draw(st.integers(1, 5))
        batches.append(list(shuffled[i : i + size]))
        i += size
    return batches


# --- what the histories should give ------------------------------------------------------------


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def components(events: list[Event]) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """The connected components of the identity graph, as partitions of events and of keys."""
    links = UnionFind()
    seen = {k for _, keys in events for k in keys}
    for _, keys in events:
        for key in keys:
            links.union(keys[0], key)
            kind, _, value = key.partition(":")
            if kind == "previous_id":
                for partner in (f"external_id:{value}", f"anonymous_id:{value}"):
                    if partner in seen:
                        links.union(key, partner)
    by_root_events: dict[str, set[str]] = {}
    by_root_keys: dict[str, set[str]] = {}
    for event, keys in events:
        by_root_events.setdefault(links.find(keys[0]), set()).add(event)
    for key in seen:
        by_root_keys.setdefault(links.find(key), set()).add(key)
    return (
        {frozenset(g) for g in by_root_events.values()},
        {frozenset(g) for g in by_root_keys.values()},
    )


def alias_classes(events: list[Event]) -> UnionFind:
    """External ids joined by aliases that name an external id."""
    classes = UnionFind()
    for _, keys in events:
        for key in keys:
            if key.startswith("previous_id:"):
                users = [k for k in keys if k.startswith("external_id:")]
                for user in users:
                    classes.union(user, "external_id:" + key.partition(":")[2])
    return classes
