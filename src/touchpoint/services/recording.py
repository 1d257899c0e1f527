"""Recording interactions sent by a caller (the API's ingest endpoints and Segment's): the
ingestion path, plus the audit trail's record of every consent change a caller made — who
sent it, for which customer, by which interaction (the consent history itself is a projection
of the log; the trail says who changed it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from touchpoint.domain.consent import CONSENT_TYPES
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.services import audit
from touchpoint.store.engine import write_transaction

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint

Item = tuple[int, "dict[str, Any] | ItemResult"]


def record(
    tp: Touchpoint, items: Iterable[Item], *, actor: str, keep_results: bool = True
) -> IngestReport:
    """Ingest `items` (position, interaction or its rejection) for `actor`; each accepted
    consent change gets an audit entry (a duplicate sent again changed nothing and gets none)."""
    batch = list(items)
    changes = {
        position: raw
        for position, raw in batch
        if isinstance(raw, dict) and _is_consent_type(raw.get("type"))
    }
    report = tp.ingestor.ingest(batch, keep_results=keep_results or bool(changes))
    accepted = [
        (result, changes[result.position])
        for result in report.results
        if result.status == "accepted" and result.position in changes
    ]
    if accepted:
        with write_transaction(tp.engine) as conn:
            for result, raw in accepted:
                properties = raw.get("properties")
                purpose = properties.get("purpose") if isinstance(properties, dict) else None
                audit.record(
                    conn,
                    actor,
                    "consent.change",
                    result.customer_id,
                    interaction=result.id,
                    type=raw["type"],
                    channel=raw.get("channel"),
                    purpose=purpose,
                )
    if changes and not keep_results:
        report.results = []  # the caller asked for the counts only
    return report


def _is_consent_type(value: Any) -> bool:
    """A type any caller may send (a list, an object: validation refuses it later)."""
    return isinstance(value, str) and value in CONSENT_TYPES
