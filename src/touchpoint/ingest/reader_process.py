"""Read and prepare a large file's interactions in a second process: parsing, validating and
normalising the next rows then runs on another core while this one resolves identities and writes
the batch before, in the one writer's transaction.

The reader is `python -m touchpoint.ingest.reader_process` (a plain subprocess, as
`touchpoint.isolation`'s worker, so it works whatever started this process: a script without a
main guard, a REPL, a server). It sends chunks of prepared items, and the bytes it read for the
progress bar, as length-prefixed pickles on its stdout; the pipe's small buffer is the
back-pressure, so memory stays flat. The items, their order and every rejection are exactly what
preparing them here gives. An exception in the reader is raised here; a reader whose parent is
gone stops at its next write (a broken pipe).
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from touchpoint.errors import BackendError
from touchpoint.ingest import segment
from touchpoint.ingest.files import file_rows
from touchpoint.ingest.pipeline import Raw, prepare_item
from touchpoint.ingest.report import ItemResult
from touchpoint.perf import without_cycle_collection

CHUNK = 2_000  # items per message
# Starting the reader (a fresh interpreter importing the validators) costs ~0.5 s: worth it only
# for files with more than a few seconds of work.
MIN_BYTES = 16 * 1024 * 1024
_FRAME = struct.Struct("!Q")  # the length of the pickle that follows


def prepared_rows(
    path: Path,
    kind: str,
    *,
    events_file: Path | None,
    default_region: str,
    received_at: datetime,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Raw]:
    """The file's items, prepared in a reader process, in file order."""
    request = {
        "path": str(path),
        "kind": kind,
        "events_file": str(events_file) if events_file else None,
        "region": default_region,
        "received_at": received_at.isoformat(),
        "chunk": CHUNK,
    }
    reader = subprocess.Popen(
        [sys.executable, "-m", "touchpoint.ingest.reader_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        reader.stdin.write(orjson.dumps(request))
        reader.stdin.close()
        while (message := _receive(reader.stdout)) is not None:
            if isinstance(message, BaseException):
                raise message
            read_bytes, items = message
            if on_bytes and read_bytes:
                on_bytes(read_bytes)
            yield from items
    finally:
        reader.stdout.close()  # a reader still writing stops at its next write
        try:
            reader.wait(timeout=10)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise BackendError("the file reader process stopped before the end of the file")
    (length,) = _FRAME.unpack(header)
    return pickle.loads(stream.read(length))


def _send(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(payload)))
    stream.write(payload)


def _read(request: dict[str, Any], out: IO[bytes]) -> None:
    """In the reader process: read, prepare and send; None at the end, or the exception."""
    read_bytes = 0

    def count(n: int) -> None:
        nonlocal read_bytes
        read_bytes += n

    received_at = datetime.fromisoformat(request["received_at"])
    region, chunk_size = request["region"], request["chunk"]
    events_file = Path(request["events_file"]) if request["events_file"] else None
    try:
        with without_cycle_collection():
            events = segment.load_event_map(events_file)
            with file_rows(Path(request["path"]), request["kind"], events, count) as rows:
                chunk: list[Raw] = []
                for position, raw in rows:
                    if not isinstance(raw, ItemResult):
                        raw = prepare_item(
                            raw, position, received_at=received_at, default_region=region
                        )
                    chunk.append((position, raw))
                    if len(chunk) >= chunk_size:
                        _send(out, (read_bytes, chunk))
                        read_bytes, chunk = 0, []
                _send(out, (read_bytes, chunk))
        _send(out, None)
    except BrokenPipeError:  # the importer is gone: nobody reads this
        return
    except Exception as exc:  # raised again in the importer, as it is
        _send(out, exc)
    out.flush()


if __name__ == "__main__":
    # Frames go out on a private copy of stdout; anything a library prints lands on stderr.
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        _read(orjson.loads(sys.stdin.buffer.read()), frames)
        frames.close()
    except BrokenPipeError:
        os._exit(0)
