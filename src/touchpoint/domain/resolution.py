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
    ranks = dict(rank_of_customer)
    parent: dict[str, str] = {}

    def find(cid: str) -> str:
        while cid in parent:
            cid = parent[cid]
        return cid

    assigned: list[str] = []
    result = Resolution(customer_of_event=assigned)
    for index, keys in enumerate(event_keys):
        found = {find(owners[k]): k for k in keys if k in owners}
        if not found:
            cid = new_customer_id()
            ranks[cid] = ("~new", len(result.new_customers))
            result.new_customers.append(cid)
        else:
            cid = min(found, key=lambda c: (ranks[c], c))
            for other, key in found.items():
                if other != cid:
                    parent[other] = cid
                    result.merges.append(Merge(cid, other, index, key))
        for k in keys:
            if k not in owners:
                owners[k] = cid
                result.new_identities[k] = cid
        assigned.append(cid)

    for i, cid in enumerate(assigned):
        assigned[i] = find(cid)
    for key, cid in result.new_identities.items():
        result.new_identities[key] = find(cid)
    result.survivor_of = {loser: find(loser) for loser in parent}
    return result
