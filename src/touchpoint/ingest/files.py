"""File import: stream CSV or JSONL (optionally gzipped) into the ingestion path, line by line.

Memory stays flat whatever the file size: rows are read lazily and ingested in batches. Every row
keeps its line number, so a rejected row is reported as `line N: field: reason`.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from touchpoint.errors import NotFound, ValidationError
from touchpoint.ingest import segment
from touchpoint.ingest.report import ItemResult

Row = tuple[int, dict[str, Any] | ItemResult]

TOP_LEVEL = (
    "id type channel direction occurred_at name agent queue duration_s outcome revenue currency"
).split()
CUSTOMER = ("email", "phone", "external_id", "anonymous_id")
ATTRIBUTION = ("source", "medium", "campaign", "keyword", "creative")
NESTED_PREFIXES = ("properties.", "traits.", "handles.", "customer.handles.")
# Events per write transaction in a file import: each batch rewrites about one index page per
# row (random event and customer ids), so bigger batches write far fewer pages per event. At 1M
# events 50,000 costs 15% less CPU than 20,000; a batch in memory is ~60 MB.
FILE_BATCH_SIZE = 50_000


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk, for a progress bar in bytes."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
        self.raw = raw
        self.on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if self.on_bytes and n:
            self.on_bytes(n)
        return n or 0


@contextmanager
def _open_binary(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[IO[bytes]]:
    with io.BufferedReader(
        _CountingReader(path.open("rb"), on_bytes), buffer_size=1 << 20
    ) as counted:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=counted) as inflated:
                yield inflated  # type: ignore[misc]
        else:
            yield counted  # type: ignore[misc]


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last in (".csv", ".tsv"):
        return "csv"
    raise ValidationError(
        f"{path.name}: cannot tell the format from the name; pass --format csv|jsonl"
    )


def read_jsonl(stream: IO[bytes], events: segment.SegmentEventMap) -> Iterator[Row]:
    """Each line: an interaction in the API's JSON shape, or a Segment identify/track/page/alias."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, ItemResult(number, "rejected", reason=f"not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield number, ItemResult(number, "rejected", reason="each line must be a JSON object")
        elif "customer" not in obj and segment.is_segment_message(obj):  # cheap test first
            try:
                yield number, segment.segment_to_interaction(obj, events)
            except ValidationError as exc:
                yield number, ItemResult(number, "rejected", obj.get("messageId"), reason=str(exc))
        else:
            yield number, obj


def column_path(column: str) -> tuple[str, ...]:
    """Where a CSV column goes in the interaction JSON shape; ValidationError if nowhere."""
    name = column.strip()
    if name in TOP_LEVEL:
        return (name,)
    if name in CUSTOMER:
        return ("customer", name)
    if name.startswith("customer.") and name.split(".", 1)[1] in CUSTOMER:
        return ("customer", name.split(".", 1)[1])
    if name in ATTRIBUTION:
        return ("attribution", name)
    if name.startswith("attribution.") and name.split(".", 1)[1] in ATTRIBUTION:
        return ("attribution", name.split(".", 1)[1])
    for prefix in NESTED_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            head = "handles" if "handles" in prefix else prefix.rstrip(".")
            key = name[len(prefix) :]
            return ("customer", "handles", key) if head == "handles" else (head, key)
    allowed = ", ".join(TOP_LEVEL + list(CUSTOMER) + list(ATTRIBUTION))
    raise ValidationError(
        f"line 1: unknown column {column!r}; use one of {allowed}, "
        "or prefix it with properties., traits. or handles."
    )


def read_csv(stream: IO[bytes], delimiter: str = ",") -> Iterator[Row]:
    """A header row names interaction fields (see column_path); empty cells mean 'not given'."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    paths = [column_path(c) for c in header]
    for row in reader:
        number = reader.line_num
        if len(row) != len(paths):
            reason = f"has {len(row)} cells, the header has {len(paths)}"
            yield number, ItemResult(number, "rejected", reason=reason)
            continue
        item: dict[str, Any] = {}
        for path, cell in zip(paths, row, strict=True):
            if cell != "":
                _put(item, path, cell)
        yield number, item


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def file_kind(path: Path, file_format: str | None) -> str:
    """The file's format (csv or jsonl), from `file_format` or its name; checks it exists."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ValidationError(f"{path.name} is empty: nothing to import")
    kind = file_format or detect_format(path)
    if kind not in ("csv", "jsonl"):
        raise ValidationError(f"unknown format {kind!r}; use csv or jsonl")
    return kind


@contextmanager
def file_rows(
    path: Path,
    kind: str,
    events: segment.SegmentEventMap,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Iterator[Row]]:
    """The file's rows, read lazily: (line number, raw interaction or its rejection). A damaged
    part of the file ends the rows with one rejection, so every row before it still lands."""
    with _open_binary(path, on_bytes) as stream:
        if kind == "jsonl":
            rows = read_jsonl(stream, events)
        else:
            tsv = any(s.lower() == ".tsv" for s in path.suffixes)
            rows = read_csv(stream, "\t" if tsv else ",")
        yield _until_unreadable(rows)


def _until_unreadable(rows: Iterator[Row]) -> Iterator[Row]:
    """Stop cleanly at a damaged part of the file (truncated gzip, bad bytes), so every row read
    before it is still stored, and report the damage as one rejected row."""
    last = 0
    try:
        for number, row in rows:
            last = number
            yield number, row
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        reason = f"the file cannot be read past this point ({type(exc).__name__}: {exc})"
        yield last + 1, ItemResult(last + 1, "rejected", reason=reason)
