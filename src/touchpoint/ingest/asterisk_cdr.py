"""Asterisk's CDR file, `Master.csv`, in the column order cdr/cdr_csv.c writes (no header): one
row per call leg, each an inbound `call` interaction with the caller's number as its identity —
except a row that ended in Queue(), which the queue_log counts: that one is a `custom` record
linking the caller's number to the queued call (same uniqueid).

16 columns; 17 with `loguniqueid` (or `loguserfield`) on; 18 with both; 21 with
`newcdrcolumns` too (peeraccount, linkedid, sequence). Times are read as UTC (cdr.conf's
`usegmtime=yes`); see docs/asterisk.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from touchpoint.domain import contact_center as cc
from touchpoint.domain.outbound import BUSY, NO_ANSWER
from touchpoint.domain.vocabulary import Channel, InteractionType
from touchpoint.errors import ValidationError
from touchpoint.ingest.asterisk import ANSWERED, Row, call_identity, caller_phone
from touchpoint.ingest.report import ItemResult

COLUMNS = (
    "accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end "
    "duration billsec disposition amaflags"
).split()
EXTRA = ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence")
ID_PREFIX = "asterisk-cdr:"
QUEUE_LEG = "cdr queue leg"  # the name of a row that ended in Queue(): not a call of its own
FAILED = "failed"  # the call could not be placed (Asterisk's FAILED, CONGESTION)
# ast_cdr_disp2str() → the outcome stored (the outbound dialer's words where it has them)
DISPOSITIONS = {
    "ANSWERED": ANSWERED,
    "NO ANSWER": NO_ANSWER,
    "BUSY": BUSY,
    "FAILED": FAILED,
    "CONGESTION": FAILED,
}
_UNIQUEID = re.compile(r"(?:[\w.-]+-)?\d+\.\d+")  # "1700000000.42", or "host-1700000000.42"
_CLID_NUMBER = re.compile(r"<([^<>]*)>\s*$")
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;\d)?$")  # SIP/1001-0000002a → SIP/1001


def read_cdr(stream: IO[bytes], *, default_region: str = "US") -> Iterator[Row]:
    """Each row as an interaction (ids from the row's content, so a re-import stores nothing
    twice), each row that is no CDR as a rejection naming what is wrong."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(text)
    number = 1
    for cells in reader:
        number, next_number = number, reader.line_num + 1
        if cells:
            try:
                yield number, cdr_interaction(cells, default_region)
            except ValidationError as exc:
                yield number, ItemResult(number, "rejected", reason=str(exc))
        number = next_number


def named(cells: list[str]) -> dict[str, str]:
    """A row's cells by column name; ValidationError for a count no cdr_csv.c setting writes."""
    n = len(cells)
    if n == 16:
        extra: tuple[str, ...] = ()
    elif n == 17:  # loguniqueid or loguserfield: a uniqueid looks like <epoch>.<sequence>
        extra = ("uniqueid",) if _UNIQUEID.fullmatch(cells[16]) else ("userfield",)
    elif n in (18, 21):
        extra = EXTRA[: n - 16]
    else:
        raise ValidationError(
            f"has {n} columns; Master.csv rows have 16 (17 or 18 with loguniqueid and "
            "loguserfield, 21 with newcdrcolumns)"
        )
    return dict(zip((*COLUMNS, *extra), (c.strip() for c in cells), strict=True))


def cdr_interaction(cells: list[str], region: str) -> dict[str, Any]:
    row = named(cells)
    disposition = row["disposition"].upper()
    if disposition not in DISPOSITIONS:
        raise ValidationError(
            f"disposition: {row['disposition']!r} is not one of {', '.join(DISPOSITIONS)}"
        )
    start = _moment(row["start"], "start")
    billsec = _seconds(row["billsec"], "billsec")
    duration = _seconds(row["duration"], "duration")
    key = ID_PREFIX + (row.get("uniqueid") or "row") + ":" + _digest(cells)
    properties: dict[str, Any] = {
        "cdr_" + name: row[name]
        for name in ("dst", "dcontext", "channel", "dstchannel", "lastapp", "uniqueid")
        if row.get(name)
    }
    queued = row["lastapp"].lower() == "queue"
    interaction: dict[str, Any] = {
        "id": key,
        # A call that ended in Queue() is the queue_log's to count (it knows the wait and how
        # the call left the queue): here it only links the caller's number to that call.
        "type": (InteractionType.CUSTOM if queued else InteractionType.CALL).value,
        "channel": Channel.PHONE.value,
        "direction": cc.INBOUND,
        "occurred_at": start.isoformat(),
        "customer": _customer(row, key, region, properties),
        "name": QUEUE_LEG if queued else "cdr",
        "outcome": DISPOSITIONS[disposition],
        "properties": properties | {"billsec": billsec},
    }
    if not queued:  # it rang from start to answer (duration = end - start, billsec = end - answer)
        interaction["properties"][cc.WAIT_PROPERTY] = max(duration - billsec, 0.0)
    if queued and row["lastdata"]:
        interaction["queue"] = re.split(r"[,|]", row["lastdata"], maxsplit=1)[0].strip()
    agent = _CHANNEL_SUFFIX.sub("", row["dstchannel"])
    if disposition == "ANSWERED" and agent:
        interaction |= {"agent": agent, "duration_s": billsec}
    return interaction


def _customer(
    row: dict[str, str], key: str, region: str, properties: dict[str, Any]
) -> dict[str, str]:
    """The caller's phone (src, else the number in clid) and, with a uniqueid, the call's own
    anonymous identity, which the queue_log's call of the same uniqueid carries when it had no
    caller number: so the two meet on one customer."""
    phone = caller_phone(row["src"] or _clid_number(row["clid"]), region, properties)
    uniqueid = row.get("uniqueid")
    customer = {"phone": phone} if phone else {}
    if uniqueid:
        customer["anonymous_id"] = call_identity(uniqueid)
    return customer or {"anonymous_id": key}


def _moment(value: str, column: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(f"{column}: {value!r} is not YYYY-MM-DD HH:MM:SS") from None


def _seconds(value: str, column: str) -> float:
    if not value.isdigit():
        raise ValidationError(f"{column}: {value!r} is not a whole number of seconds")
    return float(value)


def _clid_number(clid: str) -> str | None:
    """`"Ann" <5551234>` → 5551234; a bare number is the number."""
    found = _CLID_NUMBER.search(clid)
    if found:
        return found.group(1).strip() or None
    return clid.strip() if clid.strip().lstrip("+").isdigit() else None


def _digest(cells: list[str]) -> str:
    return hashlib.blake2b("\x1f".join(cells).encode(), digest_size=8).hexdigest()
