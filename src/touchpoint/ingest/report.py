"""What happened to each item of a batch, and the totals a user sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# accepted: stored; duplicate: its id is stored with the same content (nothing to do);
# conflict: its id is stored with other content (nothing stored; the reason names the fields);
# rejected: invalid (the reason names the field).
Status = Literal["accepted", "duplicate", "conflict", "rejected"]


@dataclass(slots=True)
class ItemResult:
    position: int  # index in the request batch, or line number in a file
    status: Status
    id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    differs: tuple[str, ...] = ()  # a conflict: the fields whose stored value is not the one sent


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[ItemResult] = field(default_factory=list)
    conflicts: list[ItemResult] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    keep_results: bool = True
    warnings: list[str] = field(default_factory=list)  # about the whole input, said once each

    def add(self, result: ItemResult) -> None:
        if result.status == "accepted":
            self.accepted += 1
        elif result.status == "duplicate":
            self.duplicates += 1
        elif result.status == "conflict":
            self.conflicts.append(result)
        else:
            self.rejected.append(result)
        if self.keep_results:
            self.results.append(result)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.conflicts) + len(self.rejected)
