"""Identity resolution for a batch of events, as a pure function over the identity graph.

Every event carries identity keys. Keys already owned by a customer pull the event to that
customer; keys owned by two or more customers merge them into the one created first; unknown keys
are attached to the event's customer, who is new when none of its keys is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Merge:
    survivor_id: str
    merged_id: str
    event_index: int  # index into the batch of the event that tied the two customers
    linking_key: str
    # Keys first seen in this batch that the merged-away customer held when it merged (the
    # database knows the rest): with them the merge record lists every identity that moved.
    batch_keys: tuple[str, ...] = ()


@dataclass(slots=True)
class Resolution:
    customer_of_event: list[str]
    new_customers: list[str] = field(default_factory=list)
    new_identities: dict[str, str] = field(default_factory=dict)  # key -> final customer id
    merges: list[Merge] = field(default_factory=list)
    survivor_of: dict[str, str] = field(default_factory=dict)  # every merged-away id -> survivor


def resolve_batch(
    event_keys: Sequence[Sequence[str]],
    owner_of_key: Mapping[str, str],
    rank_of_customer: Mapping[str, tuple[str, int]],
    new_customer_id: Callable[[], str],
) -> Resolution:
    """Assign each event to a customer; `rank_of_customer` orders existing customers by age."""
    owners = dict(owner_of_key)
    new_ranks: dict[str, tuple[str, int]] = {}  # customers created by this batch, in order

    def rank(cid: str) -> tuple[tuple[str, int], str]:
        found = new_ranks.get(cid)
        return (rank_of_customer[cid] if found is None else found), cid

    parent: dict[str, str] = {}  # merged-away customer -> the one it merged into
    batch_keys_of: dict[str, list[str]] = {}  # customer -> keys it got in this batch
    result = Resolution(customer_of_event=[])
    assigned = result.customer_of_event
    new_identities = result.new_identities
    for index, keys in enumerate(event_keys):
        linked: dict[str, str] = {}  # current customer -> the (last) key of this event they own
        unknown: list[str] = []
        for key in keys:
            cid = owners.get(key)
            if cid is None:
                unknown.append(key)
            else:
                while cid in parent:
                    cid = parent[cid]
                linked[cid] = key
        if not linked:
            cid = new_customer_id()
            new_ranks[cid] = ("~new", len(result.new_customers))
            result.new_customers.append(cid)
        elif len(linked) == 1:
            (cid,) = linked
        else:
            cid = min(linked, key=rank)
            for other, key in linked.items():
                if other != cid:
                    parent[other] = cid
                    gained = batch_keys_of.pop(other, [])
                    result.merges.append(Merge(cid, other, index, key, tuple(gained)))
                    batch_keys_of.setdefault(cid, []).extend(gained)
        for key in unknown:
            owners[key] = cid
            new_identities[key] = cid
            batch_keys_of.setdefault(cid, []).append(key)
        assigned.append(cid)

    if parent:
        survivor_of = {loser: _root(loser, parent) for loser in parent}
        result.survivor_of = survivor_of
        result.customer_of_event = [survivor_of.get(cid, cid) for cid in assigned]
        for key, cid in new_identities.items():
            new_identities[key] = survivor_of.get(cid, cid)
    return result


def _root(cid: str, parent: Mapping[str, str]) -> str:
    while cid in parent:
        cid = parent[cid]
    return cid
