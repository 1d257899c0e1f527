"""Import a file of interactions: the log and the identity graph first, then every projection
catches up from its checkpoint. The CLI's `touchpoint import` and the demo call it."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

from touchpoint.ingest import asterisk
from touchpoint.ingest.files import FILE_BATCH_SIZE, file_kind, file_rows
from touchpoint.ingest.report import IngestReport
from touchpoint.ingest.segment import load_event_map
from touchpoint.projections.contract import Progress
from touchpoint.runtime import Touchpoint
from touchpoint.store import contact_center as center_store


def import_file(
    tp: Touchpoint,
    path: Path,
    *,
    file_format: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    keep_results: bool = False,
    catch_up: bool = True,
    catch_up_progress: Callable[[str], Progress] | None = None,
) -> IngestReport:
    """Stream one file through the ingestion path; rejected rows and rows whose id is stored
    with other content (conflicts) are reported, the rest land; `report.warnings` says what the
    whole file needs said once (a CSV column kept as a property). A file without rows is a
    ValidationError.

    The import writes the log and the identity graph only (projections deferred); then
    (`catch_up`, else it is the caller's job: `tp.projections.catch_up()`) every projection
    catches up from its checkpoint. A crash between the two loses nothing: the next catch-up
    starts from the same checkpoint.
    """
    kind = file_kind(path, file_format)
    events = load_event_map(tp.settings.segment_events_file)
    warnings: list[str] = []
    with file_rows(
        path,
        kind,
        events,
        on_bytes,
        warn=warnings.append,
        default_region=tp.settings.default_region,
    ) as rows:
        report = tp.ingestor.ingest(
            rows, keep_results=keep_results, batch_size=FILE_BATCH_SIZE, bulk=True
        )
    report.warnings.extend(warnings)
    if kind == asterisk.QUEUE_LOG:
        added = store_agent_sessions(tp, path)
        if added:
            report.warnings.append(
                f"{added:,} agent step(s) (sessions, pauses, calls taken) added to the contact "
                "center's event trail, which the occupancy report reads"
            )
    if catch_up:
        tp.projections.catch_up(catch_up_progress)
    return report


def store_agent_sessions(tp: Touchpoint, path: Path) -> int:
    """An Asterisk queue_log's agent sessions (log-ins, pauses, log-outs) and calls taken
    (CONNECT to its end) as steps of the contact center's event trail, so occupancy covers
    Asterisk's agents; a line imported again adds nothing. Answers how many steps were added."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        steps = [
            {
                "at": step.at,
                "kind": step.kind,
                "agent_id": step.agent[:40],
                "queue": step.queue[:40] if step.queue else None,
                "contact_id": step.contact,
                "detail": {asterisk.STEP_KEY: step.key, "event": step.event},
            }
            for step in asterisk.agent_steps(stream)
        ]
    with center_store.center_transaction(tp.engine) as conn:
        return center_store.add_imported_steps(conn, steps, asterisk.STEP_KEY)
