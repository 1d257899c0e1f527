"""Fuzz the file importers (issue 9 §1): Hypothesis writes CSV and JSONL files with hostile content
— NUL and control characters, BOMs, CRLF, quoted line breaks, bytes that are not UTF-8, wrong
separators, missing and extra cells, huge numbers, deep nesting, bad dates, duplicate ids, lone
surrogates escaped in JSON — and the import must keep its promises: it returns a report (or
refuses the whole file in one line when it has no rows), every line is accepted or rejected (or
is a duplicate or conflict) under its own line number, with a reason when refused; the counts
add up to the lines; every accepted line is in the log exactly once, and importing the file again
adds nothing. The line numbers expected are counted here from what was written."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.builders import interaction
from tests.ingest.hostile import COLUMNS, IDENTITY_COLUMNS, cell, json_values, nasty_text
from touchpoint.errors import ValidationError
from touchpoint.ingest.report import IngestReport
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

FUZZ = settings(
    max_examples=100,
    derandomize=True,  # the same files on every run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_files = count(1)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what ends a line in a text file read with newline=""


@dataclass
class Written:
    """A file written for the fuzz: its bytes and the first line of each item in it."""

    data: bytes
    starts: list[int]


def log_size(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(interactions)) or 0)


def times_stored(tp: Touchpoint, ids: list[str]) -> dict[str, int]:
    with read_connection(tp.engine) as conn:
        rows = conn.execute(
            select(interactions.c.id, func.count())
            .where(interactions.c.id.in_(ids))
            .group_by(interactions.c.id)
        )
        return {row[0]: row[1] for row in rows}


def import_twice_and_check(tp: Touchpoint, path: Path, written: Written) -> None:
    """The invariants: one result per item at its line; counts add up; accepted items stored
    once; a second import adds nothing and finds every item where the first left it."""
    before = log_size(tp)
    try:
        first = import_file(tp, path, keep_results=True)
    except ValidationError as exc:  # refused whole, in one line: only a file with no items
        assert not written.starts, f"{exc} — but the file has items at {written.starts}"
        event("refused whole")
        return
    assert_one_result_per_item(first, written)
    for status in ("accepted", "duplicate", "conflict", "rejected"):
        if any(r.status == status for r in first.results):
            event(f"some {status}")
    accepted = [r.id for r in first.results if r.status == "accepted"]
    assert all(isinstance(i, str) for i in accepted) and len(set(accepted)) == len(accepted)
    assert log_size(tp) - before == first.accepted
    assert times_stored(tp, accepted) == dict.fromkeys(accepted, 1)  # type: ignore[arg-type]

    again = import_file(tp, path, keep_results=True)
    assert_one_result_per_item(again, written)
    assert again.accepted == 0 and log_size(tp) - before == first.accepted
    expected = {"accepted": "duplicate"}
    assert [(r.position, r.status) for r in again.results] == [
        (r.position, expected.get(r.status, r.status)) for r in first.results
    ]


def assert_one_result_per_item(report: IngestReport, written: Written) -> None:
    assert [r.position for r in report.results] == written.starts, report.results
    assert report.total == len(written.starts)
    assert report.accepted + report.duplicates + len(report.conflicts) + len(
        report.rejected
    ) == len(written.starts)
    for result in report.results:
        if result.status in ("rejected", "conflict"):
            assert result.reason, result


# --- CSV ------------------------------------------------------------------------------------


@st.composite
def csv_files(draw: st.DrawFn) -> Written:
    n = next(_files)
    ids = [f"f{n}-r{k}" for k in range(3)]  # few: duplicate ids in a file are common
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=7, unique=True))
    if draw(st.integers(0, 3)):  # mostly a header rows can follow: the fields an item needs
        needed = ["type", "channel", "occurred_at", draw(st.sampled_from(IDENTITY_COLUMNS))]
        columns = list(dict.fromkeys([*needed, *columns]))
        columns = draw(st.permutations(columns))
    separator = draw(st.sampled_from([",", ";", "\t"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))  # a lone CR too, as old Macs wrote
    pieces = [_csv_line(columns, separator, ending)]
    for _ in range(draw(st.integers(0, 7))):
        shape = draw(st.sampled_from(["full"] * 5 + ["short", "long", "blank", "other"]))
        cells = [draw(cell(column, ids)) for column in columns]
        if shape == "short":
            cells = cells[: draw(st.integers(0, len(cells) - 1))] or [""]
        elif shape == "long":
            cells.append(draw(nasty_text))
        if shape == "blank":
            pieces.append(ending)
        else:
            if shape == "other":  # quoted for another separator, a line break would be bare
                other = {",": ";", ";": ",", "\t": ","}[separator]
                cells = [re.sub("[\r\n]", " ", c) for c in cells]
            pieces.append(_csv_line(cells, other if shape == "other" else separator, ending))
    data = [piece.encode("utf-8") for piece in pieces]
    if draw(st.booleans()):
        data[0] = "\ufeff".encode() + data[0]
    if len(data) > 1 and draw(st.integers(0, 3)) == 0:  # a line that is not UTF-8
        at = draw(st.integers(1, len(data) - 1))
        if pieces[at] != ending:
            data[at] = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80"])) + data[at]
    return Written(b"".join(data), _starts(pieces, ending))


def _csv_line(cells: list[str], separator: str, ending: str) -> str:
    out = io.StringIO()
    # A line break in a cell is quoted (the writer leaves a CR bare when lines end in LF, and a
    # bare CR ends a line: then the file would say two rows where we meant one).
    breaks = any("\r" in c or "\n" in c for c in cells)
    quoting = csv.QUOTE_ALL if breaks else csv.QUOTE_MINIMAL
    csv.writer(out, delimiter=separator, lineterminator=ending, quoting=quoting).writerow(cells)
    return out.getvalue()


def _starts(pieces: list[str], blank: str) -> list[int]:
    """The first line of each item after the header, skipping blank lines."""
    starts: list[int] = []
    line = 1 + len(_LINE_BREAK.findall(pieces[0]))
    for piece in pieces[1:]:
        if piece != blank:
            starts.append(line)
        line += len(_LINE_BREAK.findall(piece))
    return starts


@FUZZ
@given(written=csv_files())
def test_a_hostile_csv_is_reported_line_by_line_and_stored_once(
    tp: Touchpoint, tmp_path: Path, written: Written
) -> None:
    path = tmp_path / f"fuzz-{next(_files)}.csv"
    path.write_bytes(written.data)
    import_twice_and_check(tp, path, written)


# --- JSONL ----------------------------------------------------------------------------------


@st.composite
def jsonl_lines(draw: st.DrawFn, ids: list[str]) -> str:
    kind = draw(
        st.sampled_from(["interaction", "interaction", "segment", "segment", "raw", "blank"])
    )
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t"]))
    if kind == "raw":
        return draw(
            st.one_of(
                nasty_text.filter(lambda t: "\n" not in t),
                st.sampled_from(['{"a": ' * 1200 + "1" + "}" * 1200, "[" * 5000, "{", "[1]"]),
            )
        )
    item: dict[str, Any]
    if kind == "interaction":
        item = {
            "id": draw(st.sampled_from(ids)),
            "type": "purchase",
            "channel": "web",
            "occurred_at": "2026-03-01T09:30:00Z",
            "customer": {"email": draw(st.sampled_from(["ann@example.com", "test@test.com"]))},
            "revenue": 10,
            "currency": "EUR",
        }
        fields = ["id", "type", "occurred_at", "customer", "revenue", "properties", "traits"]
    else:
        item = {
            "type": draw(st.sampled_from(["track", "identify", "page", "alias"])),
            "messageId": draw(st.sampled_from(ids)),
            "userId": draw(st.sampled_from(["u-1", "u-2", "null"])),
            "event": "Order Completed",
            "previousId": "dev-1",
            "timestamp": "2026-03-01T09:30:00Z",
        }
        fields = ["userId", "messageId", "timestamp", "properties", "traits", "context"]
    for field in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
        item[field] = draw(json_values(ids))
    return json.dumps(item)  # NaN as NaN, a lone surrogate as its escape


@st.composite
def jsonl_files(draw: st.DrawFn) -> Written:
    n = next(_files)
    ids = [f"j{n}-r{k}" for k in range(3)]
    lines = draw(st.lists(jsonl_lines(ids), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    data = [line.encode("utf-8") for line in lines]
    if data and draw(st.booleans()):
        data[0] = "\ufeff".encode() + data[0]
    if data and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(data) - 1))
        data[at] = data[at] + b"\xff"
    body = b"".join(line + ending.encode() for line in data)
    starts = [number for number, line in enumerate(data, start=1) if line.strip()]
    return Written(body, starts)


@FUZZ
@given(written=jsonl_files())
def test_a_hostile_jsonl_is_reported_line_by_line_and_stored_once(
    tp: Touchpoint, tmp_path: Path, written: Written
) -> None:
    path = tmp_path / f"fuzz-{next(_files)}.jsonl"
    path.write_bytes(written.data)
    if not written.data:
        written.data = b"\n"  # an empty file is refused before it is read; keep it a file
        path.write_bytes(written.data)
    import_twice_and_check(tp, path, written)


# --- what the fuzzers found, kept as examples ---------------------------------------------------


def test_a_byte_that_is_not_utf8_rejects_its_own_csv_row_only(
    tp: Touchpoint, tmp_path: Path
) -> None:
    # A strict decoder failed the whole buffer: the rows before the byte were lost too, and the
    # damage was blamed on line 1.
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"id,type,channel,occurred_at,email,traits.name\n"
        b"u1,call,phone,2026-03-01T09:30:00Z,ann@example.com,Ann\n"
        b"u2,call,phone,2026-03-01T09:31:00Z,jose@example.com,Jos\xe9\n"
        b"u3,call,phone,2026-03-01T09:32:00Z,bob@example.com,Bob\n"
    )
    report = import_file(tp, path, keep_results=True)
    assert [(r.position, r.status) for r in report.results] == [
        (2, "accepted"),
        (3, "rejected"),
        (4, "accepted"),
    ]
    assert report.results[1].reason == "not UTF-8 text: byte 0xe9 in column 6 (traits.name)"


def test_a_csv_row_is_numbered_by_its_first_line(tp: Touchpoint, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        "id,type,channel,occurred_at,email,properties.note\n"
        'n1,call,phone,2026-03-01T09:30:00Z,ann@example.com,"two\nlines"\n'
        'n2,call,phone,yesterday,ann@example.com,"three\r\nlines\nhere"\n'
        "n3,call,phone,2026-03-01T09:32:00Z,ann@example.com,one\n"
    )
    report = import_file(tp, path, keep_results=True)
    assert [(r.position, r.status) for r in report.results] == [
        (2, "accepted"),
        (4, "rejected"),  # it ends on line 6
        (7, "accepted"),
    ]


def test_a_jsonl_line_that_is_not_utf8_says_so(tp: Touchpoint, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = b'{"type": "track", "userId": "u-1", "event": "Signed Up", "messageId": "m1"}'
    path.write_bytes(good + b"\n" + b'{"name": "Jos\xe9"}\n')
    report = import_file(tp, path, keep_results=True)
    assert report.accepted == 1
    assert [(r.position, r.reason) for r in report.rejected] == [
        (2, "not UTF-8 text: byte 0xe9 at column 14")  # {"name": "Jos is 13 bytes
    ]


def test_true_or_false_is_no_amount_or_duration(tp: Touchpoint) -> None:
    # Schemathesis's negative run found `"revenue": false` stored as 0.0 (pydantic's lax mode)
    items = [
        interaction(id="b1", email="ann@example.com", revenue=False, currency="USD"),
        interaction(id="b2", email="ann@example.com", duration_s=True),
        interaction(id="b3", email="ann@example.com", revenue="10", currency="USD"),
    ]
    report = tp.ingestor.ingest(enumerate(items))
    assert [(r.status, r.reason) for r in report.results] == [
        ("rejected", "revenue: must be a number, not False"),
        ("rejected", "duration_s: must be a number, not True"),
        ("accepted", None),  # a number's text is a number (CSV cells are text)
    ]
