"""Read and prepare a large file's interactions in a second process: parsing, validating and
normalising the next rows then runs on another core while this one resolves identities and writes
the batch before, in the one writer's transaction.

The reader sends chunks of prepared items (and the bytes it read, for the progress bar) through a
bounded queue, so memory stays flat; the items, their order and every rejection are exactly what
preparing them here would give. An exception in the reader is raised here. A reader whose parent
is gone (killed) stops by itself instead of waiting on a full queue forever.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from touchpoint.errors import BackendError
from touchpoint.ingest import segment
from touchpoint.ingest.files import file_rows
from touchpoint.ingest.pipeline import Raw, prepare_item
from touchpoint.ingest.report import ItemResult
from touchpoint.perf import without_cycle_collection

CHUNK = 2_000  # items per message
QUEUE_CHUNKS = 16  # messages in flight at most (~32,000 items)
POLL_SECONDS = 2.0
# Starting the reader (a fresh interpreter importing the validators) costs ~0.5 s: worth it only
# for files with more than a few seconds of work.
MIN_BYTES = 16 * 1024 * 1024


def prepared_rows(
    path: Path,
    kind: str,
    *,
    events_file: Path | None,
    default_region: str,
    received_at: datetime,
    on_bytes: Any = None,
) -> Iterator[Raw]:
    """The file's items, prepared in a reader process, in file order."""
    context = multiprocessing.get_context("spawn")  # no fork: the caller may run threads
    channel: Any = context.Queue(maxsize=QUEUE_CHUNKS)
    reader = context.Process(
        target=_read,
        args=(
            str(path),
            kind,
            events_file,
            default_region,
            received_at,
            CHUNK,
            channel,
            os.getpid(),
        ),
        name="touchpoint-reader",
        daemon=True,
    )
    reader.start()
    try:
        while (message := _get(channel, reader)) is not None:
            if isinstance(message, BaseException):
                raise message
            read_bytes, items = message
            if on_bytes and read_bytes:
                on_bytes(read_bytes)
            yield from items
    finally:
        if reader.is_alive():
            reader.terminate()
        reader.join(timeout=10)
        channel.close()


def _get(channel: Any, reader: Any) -> Any:
    while True:
        try:
            return channel.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not reader.is_alive():
                raise BackendError(
                    f"the file reader process stopped (exit code {reader.exitcode})"
                ) from None


def _read(
    path: str,
    kind: str,
    events_file: Path | None,
    region: str,
    received_at: datetime,
    chunk_size: int,
    channel: Any,
    parent: int,
) -> None:
    """In the reader process: read, prepare and send; None at the end, or the exception."""
    read_bytes = 0

    def count(n: int) -> None:
        nonlocal read_bytes
        read_bytes += n

    try:
        with without_cycle_collection():
            events = segment.load_event_map(events_file)
            with file_rows(Path(path), kind, events, count) as rows:
                chunk: list[Raw] = []
                for position, raw in rows:
                    if not isinstance(raw, ItemResult):
                        raw = prepare_item(
                            raw, position, received_at=received_at, default_region=region
                        )
                    chunk.append((position, raw))
                    if len(chunk) >= chunk_size:
                        _put(channel, (read_bytes, chunk), parent)
                        read_bytes, chunk = 0, []
                _put(channel, (read_bytes, chunk), parent)
        _put(channel, None, parent)
    except Exception as exc:  # raised again in the parent, as it is
        _put(channel, exc, parent)


def _put(channel: Any, message: Any, parent: int) -> None:
    while True:
        try:
            channel.put(message, timeout=POLL_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent:  # the importer is gone: nobody will read this
                os._exit(0)
