"""`touchpoint import --format asterisk-cdr`: Master.csv rows in cdr/cdr_csv.c's column order
(accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer,
end, duration, billsec, disposition, amaflags[, uniqueid, userfield]), hand-written in
tests/ingest/data/asterisk_Master_16.csv and asterisk_Master_18.csv."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.ingest.asterisk_cdr import read_cdr
from touchpoint.ingest.report import ItemResult
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.tables import identities, interactions

DATA = Path(__file__).parent / "data"
CDR_16 = DATA / "asterisk_Master_16.csv"
CDR_18 = DATA / "asterisk_Master_18.csv"
QUEUE_LOG = DATA / "asterisk_queue_log"


def rows(path: Path) -> list[tuple[int, Any]]:
    return list(read_cdr(io.BytesIO(path.read_bytes())))


def test_a_16_column_row_is_a_call_with_the_callers_number() -> None:
    read = dict(rows(CDR_16))
    answered = read[1]
    assert answered["id"].startswith("asterisk-cdr:row:")
    assert (answered["type"], answered["channel"], answered["direction"]) == (
        "call",
        "phone",
        "inbound",
    )
    assert answered["occurred_at"] == "2026-03-02T11:00:00+00:00"  # start, read as UTC
    assert answered["customer"] == {"phone": "+12125550170"}  # src
    assert (answered["agent"], answered["duration_s"], answered["outcome"]) == (
        "PJSIP/1001",  # the dstchannel's peer, without the channel's sequence
        120.0,  # billsec
        "answered",
    )
    assert answered["properties"]["wait_s"] == 5.0  # duration - billsec: it rang 5 s
    assert (read[2]["outcome"], read[2]["properties"]["wait_s"], "agent" in read[2]) == (
        "no_answer",
        20.0,
        False,
    )
    assert (read[3]["outcome"], read[3]["customer"]) == ("busy", {"phone": "+12125550172"})


def test_a_row_that_ended_in_queue_is_left_to_the_queue_log() -> None:
    queued = dict(rows(CDR_16))[4]
    assert (queued["type"], queued["name"], queued["queue"]) == (
        "custom",
        "cdr queue leg",
        "support",
    )
    assert "wait_s" not in queued["properties"]


def test_rows_that_are_no_cdr_are_named_by_line() -> None:
    rejected = {n: r.reason for n, r in rows(CDR_16) if isinstance(r, ItemResult)}
    assert rejected == {
        5: "disposition: 'MAYBE' is not one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION",
        6: "start: '02/03/2026 11:50' is not YYYY-MM-DD HH:MM:SS",
        7: "has 15 columns; Master.csv rows have 16 (17 or 18 with loguniqueid and loguserfield,"
        " 21 with newcdrcolumns)",
    }


def test_18_columns_carry_the_uniqueid_as_the_calls_identity() -> None:
    (_, queued), (_, direct) = rows(CDR_18)
    assert queued["id"].startswith("asterisk-cdr:1772445900.31:")
    assert queued["customer"] == {
        "phone": "+12125550131",
        "anonymous_id": "asterisk:1772445900.31",
    }
    assert queued["properties"]["cdr_uniqueid"] == "1772445900.31"
    assert (direct["agent"], direct["duration_s"], direct["properties"]["wait_s"]) == (
        "PJSIP/1001",
        60.0,
        12.0,
    )


def test_17_columns_are_a_uniqueid_or_a_userfield() -> None:
    line = CDR_16.read_text().splitlines()[0]
    with_id = list(read_cdr(io.BytesIO(f'{line},"1772449200.7"\n'.encode())))
    with_field = list(read_cdr(io.BytesIO(f'{line},"vip"\n'.encode())))
    assert with_id[0][1]["customer"]["anonymous_id"] == "asterisk:1772449200.7"
    assert "anonymous_id" not in with_field[0][1]["customer"]


def customer_of(tp: Touchpoint, key: str) -> str:
    with tp.engine.connect() as conn:
        found = conn.execute(select(identities.c.customer_id).where(identities.c.key == key))
        return str(found.scalar_one())


def count(tp: Touchpoint) -> int:
    with tp.engine.connect() as conn:
        return len(conn.execute(select(interactions.c.id)).all())


def test_the_cdr_gives_a_queued_call_its_callers_number(tp: Touchpoint) -> None:
    """Call c3 of the queue_log came without its ENTERQUEUE, so without a number; its CDR row
    (same uniqueid) names the caller, and the two identities become one customer."""
    import_file(tp, QUEUE_LOG, file_format="asterisk-queue-log")
    report = import_file(tp, CDR_18, file_format="asterisk-cdr")
    assert (report.accepted, len(report.rejected)) == (2, 0)
    assert customer_of(tp, "anonymous_id:asterisk:1772445900.31") == customer_of(
        tp, "phone:+12125550131"
    )


def test_a_reimport_of_either_width_stores_nothing_twice(tp: Touchpoint) -> None:
    first = [import_file(tp, path, file_format="asterisk-cdr") for path in (CDR_16, CDR_18)]
    assert [(r.accepted, len(r.rejected)) for r in first] == [(4, 3), (2, 0)]
    again = [import_file(tp, path, file_format="asterisk-cdr") for path in (CDR_16, CDR_18)]
    assert [(r.accepted, r.duplicates, len(r.conflicts)) for r in again] == [(0, 4, 0), (0, 2, 0)]
    assert count(tp) == 6


def test_master_csv_is_read_as_a_cdr_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "Master.csv"
    path.write_bytes(CDR_18.read_bytes())
    ran = CliRunner().invoke(app, ["import", str(path), "--data-dir", str(tmp_path / "data")])
    assert ran.exit_code == 0, ran.output
    assert "accepted │ 2" in " ".join(ran.output.split())
