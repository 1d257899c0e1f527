"""What happened to each item of a batch, and the totals a user sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# accepted: stored; duplicate: its id is stored with the same content (nothing to do);
# conflict: its id is stored with other content (nothing stored; the reason names the fields);
# rejected: invalid (the reason names the field).
Status = Literal["accepted", "duplicate", "conflict", "rejected"]
WARNED_EXAMPLES = 3  # items a report's summary of warnings names


@dataclass(slots=True)
class ItemResult:
    position: int  # index in the request batch, or line number in a file
    status: Status
    id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    differs: tuple[str, ...] = ()  # a conflict: the fields whose stored value is not the one sent
    warnings: tuple[str, ...] = ()  # accepted, but something of it was left out (a placeholder)


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[ItemResult] = field(default_factory=list)
    conflicts: list[ItemResult] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    keep_results: bool = True
    warnings: list[str] = field(default_factory=list)  # about the whole input, said once each
    warned: int = 0  # items stored with a warning of their own (`ItemResult.warnings`)
    warned_examples: list[ItemResult] = field(default_factory=list)  # the first few
    _summary_at: int | None = None  # where in `warnings` the summary of `warned` stands

    def add(self, result: ItemResult) -> None:
        if result.warnings:
            self.note(result)
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

    def note(self, result: ItemResult) -> None:
        """Count an item stored with warnings, and say so once for the whole input: one line in
        `warnings`, kept current (a file import shows it, by line; the API answers per item)."""
        self.warned += 1
        if len(self.warned_examples) < WARNED_EXAMPLES:
            self.warned_examples.append(result)
        examples = "; ".join(  # `customer.email: 'test@test.com'`, the rest said once above
            f"line {item.position}: {item.warnings[0].partition(' is a placeholder')[0]}"
            for item in self.warned_examples
        )
        more = ", ..." if self.warned > len(self.warned_examples) else ""
        line = (
            f"{self.warned:,} stored item(s) carried a placeholder identity that was not used to "
            f"find or link a customer ({examples}{more})"
        )
        if self._summary_at is None:
            self._summary_at = len(self.warnings)
            self.warnings.append(line)
        else:
            self.warnings[self._summary_at] = line

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.conflicts) + len(self.rejected)
