"""CSV files as people export them: columns that are not interaction fields, semicolons and
tabs for separators, blank lines, and files with nothing in them."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import select

from touchpoint.errors import ValidationError
from touchpoint.ingest.files import sniff_delimiter
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

AT = "2026-01-01T00:00:00Z"


def stored_properties(tp: Touchpoint) -> dict[str, dict]:
    with read_connection(tp.engine) as conn:
        rows = conn.execute(select(interactions.c.id, interactions.c.properties))
        return {row.id: row.properties for row in rows}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_column_is_stored_as_a_property_and_said_once(
    tp: Touchpoint, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "events.csv",
        f"id,type,channel,occurred_at,email,colour,properties.size\n"
        f"1,signup,web,{AT},a@example.com,red,42\n"
        f"2,page_view,web,{AT},a@example.com,,\n"
        f"3,page_view,web,{AT},b@example.com,blue,7\n",
    )
    report = import_file(tp, path, keep_results=True)
    assert (report.accepted, len(report.rejected)) == (3, 0)
    assert report.warnings == [
        "column 'colour' is not an interaction field; stored as properties.colour"
    ]
    # Cells are text: "42" stays "42"; an empty cell is no value.
    assert stored_properties(tp) == {
        "1": {"colour": "red", "size": "42"},
        "2": {},
        "3": {"colour": "blue", "size": "7"},
    }


def test_a_misspelt_field_is_kept_and_the_warning_suggests_the_field(
    tp: Touchpoint, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "events.csv",
        f"id,type,channel,occured_at,email\n1,signup,web,{AT},a@example.com\n",
    )
    report = import_file(tp, path, keep_results=True)
    assert report.warnings == [
        "column 'occured_at' is not an interaction field; stored as properties.occured_at "
        "(did you mean 'occurred_at'?)"
    ]
    assert report.accepted == 0
    assert [r.reason for r in report.rejected] == ["occurred_at: Field required"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("id,type,,email", "line 1: column 3 has no name"),
        ("id,type,email,customer.email", "line 1: columns 3 and 4 both fill customer.email"),
        ("id,colour,properties.colour", "line 1: columns 2 and 3 both fill properties.colour"),
        ("id,attribution.sauce", "line 1: unknown column 'attribution.sauce'; attribution. takes"),
        ("id,properties.", "line 1: column 'properties.' names no properties key"),
    ],
)
def test_a_header_no_row_could_follow_stops_the_import(
    tp: Touchpoint, tmp_path: Path, header: str, message: str
) -> None:
    path = write(tmp_path / "bad.csv", f"{header}\n{','.join('x' * header.count(','))}x\n")
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        import_file(tp, path)
    assert stored_properties(tp) == {}


@pytest.mark.parametrize(
    ("line", "separator"),
    [
        ("id,type,channel", ","),
        ("id;type;channel", ";"),
        ("id\ttype\tchannel", "\t"),
        ('"id;x",type,channel', ","),  # a quoted name's semicolon is not a separator
        ("email", ","),  # one column: nothing to tell, a comma
        ("id;type,channel", ","),  # a tie: a comma
    ],
)
def test_the_separator_is_read_from_the_header(line: str, separator: str) -> None:
    assert sniff_delimiter(line + "\r\n") == separator


def test_a_semicolon_separated_file_imports_with_commas_inside_cells(
    tp: Touchpoint, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "export.csv",
        f"id;type;channel;occurred_at;email;properties.note\n"
        f"s1;signup;web;{AT};a@example.com;first, then second\n"
        f's2;call;phone;{AT};a@example.com;"quoted; with a semicolon"\n',
    )
    report = import_file(tp, path)
    assert (report.accepted, len(report.rejected)) == (2, 0), report.rejected
    assert stored_properties(tp) == {
        "s1": {"note": "first, then second"},
        "s2": {"note": "quoted; with a semicolon"},
    }


@pytest.mark.parametrize("name", ["export.csv", "export.tsv", "export.tsv.gz"])
def test_a_tab_separated_file_imports_whatever_its_name(
    tp: Touchpoint, tmp_path: Path, name: str
) -> None:
    text = (
        f"id\ttype\tchannel\toccurred_at\temail\tproperties.note\n"
        f"t1\tsignup\tweb\t{AT}\ta@example.com\tcommas, and; semicolons\n"
    )
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    report = import_file(tp, path)
    assert (report.accepted, len(report.rejected)) == (1, 0), report.rejected
    assert stored_properties(tp) == {"t1": {"note": "commas, and; semicolons"}}


def test_blank_lines_are_skipped_not_rejected(tp: Touchpoint, tmp_path: Path) -> None:
    path = write(
        tmp_path / "events.csv",
        f"id,type,channel,occurred_at,email\n\n1,signup,web,{AT},a@example.com\n\n\n",
    )
    report = import_file(tp, path)
    assert (report.accepted, len(report.rejected)) == (1, 0), report.rejected


def test_a_csv_with_only_a_header_says_so(tp: Touchpoint, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", "id,type,channel,occurred_at,email\n\n")
    with pytest.raises(ValidationError, match="calls.csv has a header line but no rows"):
        import_file(tp, path)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("calls.csv.gz", gzip.compress(b"", mtime=0)),
        ("calls.jsonl", b"\n\n  \n"),
        ("calls.jsonl.gz", gzip.compress(b"\n", mtime=0)),
    ],
)
def test_a_file_with_nothing_to_import_says_so(
    tp: Touchpoint, tmp_path: Path, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValidationError, match=f"{name.replace('.', '[.]')} is empty"):
        import_file(tp, path)
