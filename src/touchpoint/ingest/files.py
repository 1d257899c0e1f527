"""File import: stream CSV or JSONL (optionally gzipped) into the ingestion path, line by line.

Memory stays flat whatever the file size: rows are read lazily and ingested in batches. Every row
keeps its line number, so a rejected row is reported as `line N: field: reason`.

A CSV's separator (comma, semicolon or tab) is read from its header line. A column that is not an
interaction field is kept, as `properties.<column>`, with one warning for the whole file; every
CSV cell is text, so such a property holds the cell's text as it is ("42" stays "42").
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from touchpoint.errors import NotFound, ValidationError
from touchpoint.ingest import asterisk, segment
from touchpoint.ingest.asterisk_cdr import read_cdr
from touchpoint.ingest.report import ItemResult
from touchpoint.ingest.values import loads

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


FORMATS = ("csv", "jsonl", *asterisk.FORMATS)


def detect_format(path: Path) -> str:
    if "queue_log" in path.name.lower():  # Asterisk's name for it (queue_log.1 once rotated)
        return asterisk.QUEUE_LOG
    if path.name.lower().removesuffix(".gz") == "master.csv":  # Asterisk's CDR file
        return asterisk.CDR
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last in (".csv", ".tsv"):
        return "csv"
    raise ValidationError(
        f"{path.name}: cannot tell the format from the name; pass --format {'|'.join(FORMATS)}"
    )


def read_jsonl(stream: IO[bytes], events: segment.SegmentEventMap) -> Iterator[Row]:
    """Each line: an interaction in the API's JSON shape, or a Segment identify/track/page/alias."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, ItemResult(number, "rejected", reason=_not_json(line, exc))
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


def _not_json(line: bytes, exc: orjson.JSONDecodeError) -> str:
    """Why a line is no JSON: its first byte that is not UTF-8 if it has one (orjson's message
    for that speaks of surrogates), else the reader's message."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text: byte 0x{line[bad.start]:02x} at column {bad.start + 1}"
    return f"not valid JSON: {exc}"


def column_path(column: str) -> tuple[str, ...] | None:
    """Where a CSV column goes in the interaction JSON shape; None if it is not an interaction
    field; ValidationError if it names a part of one that does not exist (`customer.emial`)."""
    name = column.strip()
    if name in TOP_LEVEL:
        return (name,)
    if name in CUSTOMER:
        return ("customer", name)
    if name in ATTRIBUTION:
        return ("attribution", name)
    head, dot, rest = name.partition(".")
    if dot and head in ("customer", "attribution") and not name.startswith("customer.handles."):
        allowed = CUSTOMER if head == "customer" else ATTRIBUTION
        if rest in allowed:
            return (head, rest)
        raise ValidationError(
            f"line 1: unknown column {column!r}; {head}. takes {', '.join(allowed)}"
            + (" or handles.NETWORK" if head == "customer" else "")
        )
    for prefix in NESTED_PREFIXES:
        if name.startswith(prefix):
            key = name[len(prefix) :]
            if not key:
                raise ValidationError(f"line 1: column {column!r} names no {prefix[:-1]} key")
            head = "handles" if "handles" in prefix else prefix.rstrip(".")
            return ("customer", "handles", key) if head == "handles" else (head, key)
    return None


FIELDS = (*TOP_LEVEL, *CUSTOMER, *ATTRIBUTION)


def column_paths(header: list[str]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Where each column of a header goes, and a warning for each column kept as a property
    because it is not an interaction field. ValidationError for a header no row could follow."""
    if not any(cell.strip() for cell in header):
        raise ValidationError("line 1: the header is empty; the first line must name the columns")
    paths: list[tuple[str, ...]] = []
    warnings: list[str] = []
    filled: dict[tuple[str, ...], int] = {}
    for number, column in enumerate(header, start=1):
        name = column.strip()
        if not name:
            raise ValidationError(
                f"line 1: column {number} has no name; name it (properties.NAME keeps any value)"
            )
        path = column_path(column)
        if path is None:
            path = ("properties", name)
            warnings.append(_unknown_column_warning(name))
        if path in filled:
            raise ValidationError(
                f"line 1: columns {filled[path]} and {number} both fill {'.'.join(path)}"
            )
        filled[path] = number
        paths.append(path)
    return paths, warnings


def _unknown_column_warning(name: str) -> str:
    warning = f"column {name!r} is not an interaction field; stored as properties.{name}"
    close = difflib.get_close_matches(name.lower(), FIELDS, n=1, cutoff=0.8)
    return warning + (f" (did you mean {close[0]!r}?)" if close else "")


DELIMITERS = (",", ";", "\t")
_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(header_line: str) -> str:
    """The separator a header line uses: the most frequent of comma, semicolon and tab outside
    quotes (a comma on a tie, or in a one-column file). Column names hold none of them, so the
    header says it more reliably than `csv.Sniffer` guessing from rows whose cells may."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    return max(DELIMITERS, key=counts.__getitem__)


def read_csv(
    stream: IO[bytes], *, name: str = "the file", warn: Callable[[str], None] | None = None
) -> Iterator[Row]:
    """A header row names interaction fields (see column_path); empty cells mean 'not given';
    blank lines are skipped. Columns that are not fields are stored as properties (`warn`ed)."""
    # Bytes that are not UTF-8 are read as lone surrogates (which no UTF-8 text holds) and the
    # row holding them is rejected: a strict decoder fails a whole buffer, rows before it too.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    first = text.readline()
    if not first:
        return
    reader = csv.reader(itertools.chain([first], text), delimiter=sniff_delimiter(first))
    header = next(reader)
    undecodable = _undecodable(header, header)
    if undecodable:
        raise ValidationError(f"line 1: {undecodable}")
    paths, warnings = column_paths(header)
    if warn:
        for warning in warnings:
            warn(warning)
    rows = 0
    number = reader.line_num + 1
    for row in reader:
        # A row is numbered by its first line: quoted line breaks make it span several.
        number, next_number = number, reader.line_num + 1
        reason = _undecodable(row, header)
        if reason is None and len(row) != len(paths):
            if not row:  # a blank line
                number = next_number
                continue
            reason = f"has {len(row)} cells, the header has {len(paths)}"
        if reason is not None:
            yield number, ItemResult(number, "rejected", reason=reason)
            rows += 1
            number = next_number
            continue
        item: dict[str, Any] = {}
        for path, cell in zip(paths, row, strict=True):
            if cell != "":
                _put(item, path, cell)
        yield number, item
        rows += 1
        number = next_number
    if not rows:
        raise ValidationError(f"{name} has a header line but no rows: nothing to import")


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte `surrogateescape` could not decode


def _undecodable(row: list[str], header: list[str]) -> str | None:
    """Why a row read with `surrogateescape` is not text, or None: the first byte that is not
    UTF-8, and the column it is in."""
    for index, value in enumerate(row):
        found = _ESCAPED_BYTE.search(value)
        if found:
            name = header[index] if index < len(header) else ""
            column = f"column {index + 1}"
            if name.strip() and not _ESCAPED_BYTE.search(name):
                column += f" ({name.strip()})"
            return f"not UTF-8 text: byte 0x{ord(found.group()) - 0xDC00:02x} in {column}"
    return None


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def file_kind(path: Path, file_format: str | None) -> str:
    """The file's format (one of FORMATS), from `file_format` or its name; checks it exists."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ValidationError(f"{path.name} is empty: nothing to import")
    kind = file_format or detect_format(path)
    if kind not in FORMATS:
        raise ValidationError(f"unknown format {kind!r}; use {', '.join(FORMATS)}")
    return kind


@contextmanager
def file_rows(
    path: Path,
    kind: str,
    events: segment.SegmentEventMap,
    on_bytes: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    default_region: str = "US",
) -> Iterator[Iterator[Row]]:
    """The file's rows, read lazily: (line number, raw interaction or its rejection). A damaged
    part of the file ends the rows with one rejection, so every row before it still lands.
    `warn` hears once about each thing worth saying about the whole file (a column kept as a
    property). A file without rows is a ValidationError once it is read. `default_region` reads
    Asterisk's caller numbers (they have no +country prefix)."""
    with _open_binary(path, on_bytes) as stream:
        if kind == "jsonl":
            rows = read_jsonl(stream, events)
        elif kind == asterisk.QUEUE_LOG:
            rows = asterisk.read_queue_log(
                stream, name=path.name, default_region=default_region, warn=warn
            )
        elif kind == asterisk.CDR:
            rows = read_cdr(stream, default_region=default_region)
        else:
            rows = read_csv(stream, name=path.name, warn=warn)
        readable = _until_unreadable(rows)
        # a queue_log of agent sessions only has no rows and is no mistake (its reader refuses
        # a file with nothing to import itself)
        yield readable if kind == asterisk.QUEUE_LOG else _not_empty(readable, path.name)


def _not_empty(rows: Iterator[Row], name: str) -> Iterator[Row]:
    """The rows; a ValidationError after the last if there were none (a gzipped empty file, a
    JSONL file of blank lines: an import of nothing is a mistake worth a line)."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise ValidationError(f"{name} is empty: nothing to import")


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
