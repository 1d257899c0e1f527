"""An identity graph in memory that applies `resolve_batch` results the way the store does, so
resolution over many batches can be tested without a database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count

from touchpoint.domain.identity import DEFAULT_MERGE_LIMITS, alias_partners, kind_of
from touchpoint.domain.resolution import Conflict, CustomerFacts, Resolution, resolve_batch


@dataclass
class Graph:
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MERGE_LIMITS))
    owner: dict[str, str] = field(default_factory=dict)  # key -> live customer
    created: dict[str, int] = field(default_factory=dict)  # customer -> creation order
    merged_into: dict[str, str] = field(default_factory=dict)
    event_customer: dict[str, str] = field(default_factory=dict)  # event id -> customer
    conflicts: list[Conflict] = field(default_factory=list)
    apart: set[frozenset[str]] = field(default_factory=set)
    _ids: count[int] = field(default_factory=count)

    def new_id(self) -> str:
        return f"c{next(self._ids):03d}"

    def ingest(self, events: Sequence[tuple[str, Sequence[str]]]) -> Resolution:
        """One batch of (event id, keys), stored as the pipeline stores it."""
        keys = {k for _, ks in events for k in ks}
        keys |= {p for k in keys for p in alias_partners(k)}
        owners = {k: self.owner[k] for k in keys if k in self.owner}
        ranks = {cid: (f"{self.created[cid]:06d}", 0) for cid in set(owners.values())}
        resolution = resolve_batch(
            [ks for _, ks in events],
            owners,
            ranks,
            self.new_id,
            limits=self.limits,
            facts=_Facts(self),
        )
        for cid in resolution.new_customers:
            self.created[cid] = len(self.created)
        self.owner.update(resolution.new_identities)
        for loser, survivor in resolution.survivor_of.items():
            for key, cid in self.owner.items():
                if cid == loser:
                    self.owner[key] = survivor
            for event, cid in self.event_customer.items():
                if cid == loser:
                    self.event_customer[event] = survivor
            for cid, into in self.merged_into.items():
                if into == loser:
                    self.merged_into[cid] = survivor
            self.merged_into[loser] = survivor
        for (event, _), cid in zip(events, resolution.customer_of_event, strict=True):
            self.event_customer[event] = cid
        self.conflicts.extend(resolution.conflicts)
        return resolution

    def live(self) -> set[str]:
        return set(self.created) - set(self.merged_into)

    def keys_of(self, cid: str) -> set[str]:
        return {k for k, owner in self.owner.items() if owner == cid}

    def event_partition(self) -> set[frozenset[str]]:
        """Customers as the sets of events they hold."""
        groups: dict[str, set[str]] = {}
        for event, cid in self.event_customer.items():
            groups.setdefault(cid, set()).add(event)
        return {frozenset(g) for g in groups.values()}

    def key_partition(self) -> set[frozenset[str]]:
        """Customers as the sets of keys they hold."""
        return {frozenset(self.keys_of(cid)) for cid in self.live()}


class _Facts(Mapping[str, CustomerFacts]):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def __getitem__(self, cid: str) -> CustomerFacts:
        limited = {k for k in self.graph.keys_of(cid) if kind_of(k) in self.graph.limits}
        apart = {other for pair in self.graph.apart if cid in pair for other in pair - {cid}}
        return CustomerFacts(frozenset(limited), frozenset(apart))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.graph.created)

    def __len__(self) -> int:
        return len(self.graph.created)
