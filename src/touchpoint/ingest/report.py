"""What happened to each item of a batch, and the totals a user sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(slots=True)
class ItemResult:
    position: int  # index in the request batch, or line number in a file
    status: Status
    id: str | None = None
    customer_id: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[ItemResult] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    keep_results: bool = True

    def add(self, result: ItemResult) -> None:
        if result.status == "accepted":
            self.accepted += 1
        elif result.status == "duplicate":
            self.duplicates += 1
        else:
            self.rejected.append(result)
        if self.keep_results:
            self.results.append(result)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)
