"""Fuzz the Asterisk queue_log importer (issue 9 §1): Hypothesis writes queue_log files in which
well-formed calls (answered or abandoned, their lines interleaved) sit among hostile lines —
text that is no queue_log line, NUL and control characters, bytes that are not UTF-8, times
that are no Unix times, events Asterisk never writes, numbers that are no numbers or past every
bound, end lines of calls that never entered — with LF or CRLF endings. The import must keep
its promises: each well-formed call lands once, with the wait its lines give; every line that
is refused is refused under its own line number with a reason, and no line written to be
refused lands; importing the file again adds nothing. Line numbers and calls expected are
counted here from what was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.ingest.hostile import nasty_text
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

FUZZ = settings(
    max_examples=60,
    derandomize=True,  # the same files on every run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_files = count(1)
START = 1_760_000_000  # 2025-10-09: inside the plausibility window


@dataclass
class Written:
    lines: list[bytes] = field(default_factory=list)
    calls: dict[str, float] = field(default_factory=dict)  # interaction id -> wait (holdtime)
    refused: set[int] = field(default_factory=set)  # line numbers written to be refused


@st.composite
def calls(draw: st.DrawFn, n: int, k: int) -> list[tuple[int, str, str | None]]:
    """(moment, line, the call's interaction id if this line ends it) for one call."""
    callid = f"f{n}-{k}-{draw(st.integers(0, 10**6))}.{draw(st.integers(0, 99))}"
    queue = draw(st.sampled_from(["support", "sales"]))
    at = START + draw(st.integers(0, 86_400))
    caller = draw(st.sampled_from(["+16465550100", "5550123", "", "anonymous"]))
    wait = draw(st.integers(0, 600))
    lines = [(at, f"{at}|{callid}|{queue}|NONE|ENTERQUEUE||{caller}|1", None)]
    if draw(st.booleans()):
        talk = draw(st.integers(1, 3_600))
        agent = draw(st.sampled_from(["Local/101@agents", "SIP/alice", "PJSIP/2001"]))
        connect, end = at + wait, at + wait + talk
        ended = f"asterisk:{callid}:{queue}:{end}"
        lines += [
            (connect, f"{connect}|{callid}|{queue}|{agent}|CONNECT|{wait}|{callid}.9|3", None),
            (end, f"{end}|{callid}|{queue}|{agent}|COMPLETECALLER|{wait}|{talk}|1", ended),
        ]
    else:
        end = at + wait
        ended = f"asterisk:{callid}:{queue}:{end}"
        lines.append((end, f"{end}|{callid}|{queue}|NONE|ABANDON|1|1|{wait}", ended))
    return lines


BAD_LINES = st.one_of(
    nasty_text.map(lambda t: t.replace("|", "").replace("\n", " ").replace("\r", " ")),
    st.builds(
        lambda t: f"{t}|c1|support|NONE|ENTERQUEUE||x|1",
        nasty_text.map(lambda t: t.replace("\n", " ").replace("\r", " ")).filter(
            lambda t: t.strip() and not t.strip().isdigit()
        ),
    ),
    st.builds(lambda e: f"{START}|c2|support|NONE|{e}|1|2|3", st.sampled_from(["BOGUS", "X"])),
    st.builds(
        lambda v: f"{START}|c3|support|NONE|ABANDON|1|1|{v}",
        st.sampled_from(["x", "1e309", "NaN", "-", "\x00", "9" * 40]),
    ),
    st.just(f"{START}|c4|support|NONE"),  # four fields
    st.just(f"{START}||support|NONE|ABANDON|1|1|5"),  # no callid
)


@st.composite
def queue_logs(draw: st.DrawFn) -> Written:
    n = next(_files)
    timed: list[tuple[int, int, str, str | None]] = []
    for k in range(draw(st.integers(0, 5))):
        timed += [(at, k, text, ended) for at, text, ended in draw(calls(n, k))]
    timed.sort(key=lambda t: (t[0], t[1]))  # one file, in time order: the calls interleave
    body = [(text, ended, False) for _at, _k, text, ended in timed]
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(body)))
        body.insert(at, (draw(BAD_LINES), None, True))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    written = Written()
    for number, (text, ended, bad) in enumerate(body, start=1):
        data = text.encode("utf-8")
        garbled = bad and draw(st.integers(0, 4)) == 0
        if garbled:
            data += b"\xff\xfe"  # not UTF-8
        written.lines.append(data + ending)
        if bad and (text.strip() or garbled):
            written.refused.add(number)
        if ended is not None:
            written.calls[ended] = float(text.rsplit("|", 3)[-3 if "COMPLETE" in text else -1])
    return written


def stored(tp: Touchpoint, ids: list[str]) -> dict[str, tuple[int, float | None]]:
    """Each id's copies in the log and the wait the (last) copy carries."""
    found: dict[str, tuple[int, float | None]] = {}
    with read_connection(tp.engine) as conn:
        rows = conn.execute(
            select(interactions.c.id, interactions.c.properties).where(interactions.c.id.in_(ids))
        )
        for row_id, properties in rows:
            copies = found.get(row_id, (0, None))[0]
            found[row_id] = (copies + 1, properties.get("wait_s"))
    return found


@FUZZ
@given(written=queue_logs())
def test_a_hostile_queue_log_lands_its_calls_once_and_names_every_bad_line(
    tp: Touchpoint, tmp_path: Path, written: Written
) -> None:
    path = tmp_path / f"queue_log-{next(_files)}"
    path.write_bytes(b"".join(written.lines))
    try:
        first = import_file(tp, path, file_format="asterisk-queue-log", keep_results=True)
    except ValidationError as exc:  # refused whole, in one line: only a file where no call ends
        assert not written.calls, f"{exc} — but calls end in it: {sorted(written.calls)}"
        event("refused whole")
        return
    rejected = {r.position: r.reason for r in first.results if r.status == "rejected"}
    assert set(rejected) == written.refused, first.results
    assert all(rejected.values())
    accepted = [r.id for r in first.results if r.status == "accepted"]
    assert sorted(accepted) == sorted(written.calls)  # type: ignore[type-var]
    found = stored(tp, list(written.calls))
    assert {i: n for i, (n, _wait) in found.items()} == dict.fromkeys(written.calls, 1)
    assert {i: wait for i, (_n, wait) in found.items()} == pytest.approx(written.calls)
    if written.refused:
        event("some lines refused")
    if written.calls:
        event("some calls landed")

    again = import_file(tp, path, file_format="asterisk-queue-log", keep_results=True)
    assert again.accepted == 0 and again.duplicates == len(written.calls)
    assert stored(tp, list(written.calls)) == found
