"""`touchpoint import --format asterisk-queue-log` on a hand-written queue_log
(tests/ingest/data/asterisk_queue_log, lines in app_queue.c's formats), and the contact-center
KPIs it gives, worked out by hand as app_queue counts them.

app_queue.c counts a call **completed** in update_queue() (COMPLETECALLER, COMPLETEAGENT, a blind
or attended transfer) and **within the service level** when, at CONNECT, `(now - qe->start) <=
qe->parent->servicelevel`; it counts a call **abandoned** in record_abandoned() (ABANDON,
EXITWITHTIMEOUT, EXITEMPTY, WITHDRAW — never EXITWITHKEY), within the service level by the same
`<=` test. `queue show` prints SL = completedinsl / completed and SL2 = (abandonedinsl +
completedinsl) / (abandoned + completed). With `servicelevel=20` (the report's default 20 s):

  line  call             how it left              wait  talk  within  counts
  10    c1 ...700.11     COMPLETECALLER (1 RNA)    18   120   yes     completed
  12    c3 ...900.31     COMPLETECALLER            45    60   no      completed (no ENTERQUEUE)
  13    c2 ...800.21     COMPLETEAGENT             20   300   yes     completed (20 <= 20)
  15    c4 ...200.41     ABANDON                    3     -   yes     abandoned (short, < 5 s)
  17    c5 ...300.51     ABANDON                   30     -   no      abandoned (caller withheld)
  19    c6 ...400.61     EXITWITHTIMEOUT           60     -   no      abandoned
  21    c7 ...500.71     EXITEMPTY                  8     -   yes     abandoned
  23    c8 ...600.81     EXITWITHKEY (5)           15     -   -       neither
  26    c9 ...700.91     BLINDTRANSFER              5    90   yes     completed, 1 transfer
  29    c10 ...800.101   ATTENDEDTRANSFER          25    40   no      completed, 1 transfer
  34    c11 ...000.131   CONNECT, no end yet        -     -   -       still in progress

completed 5, within 3 (c1, c2, c9): SL = 3/5 = 0.6; abandoned 4, within 2 (c4, c7):
SL2 = (3 + 2) / (5 + 4) = 5/9; offered 10 (c1-c10); ASA = (18+45+20+5+25)/5 = 22.6 s;
AHT = (120+60+300+90+40)/5 = 122 s; short abandons 1 (c4); transfers 2.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.errors import ValidationError
from touchpoint.ingest.asterisk import read_queue_log
from touchpoint.ingest.files import file_kind, file_rows
from touchpoint.ingest.report import ItemResult
from touchpoint.ingest.segment import SegmentEventMap
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.tables import interactions

DATA = Path(__file__).parent / "data"
QUEUE_LOG = DATA / "asterisk_queue_log"
T0 = 1772445600  # 2026-03-02 10:00:00 UTC, the file's first line


def read(text: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """The reader's rows and warnings for a queue_log given as text."""
    warnings: list[str] = []
    rows = list(read_queue_log(io.BytesIO(text.encode()), warn=warnings.append))
    return rows, warnings


def calls_by_callid() -> dict[str, dict[str, Any]]:
    rows, _ = read(QUEUE_LOG.read_text())
    return {r["properties"]["asterisk_callid"]: r for _, r in rows if isinstance(r, dict)}


def imported_kpis(tmp_path: Path, config: str | None = None) -> dict[str, Any]:
    """`touchpoint import` of the queue_log (after `cc config apply` of `config`), then the
    support queue's row of `touchpoint report contact-center --format json`."""
    data = ["--data-dir", str(tmp_path / "data")]
    imported = CliRunner().invoke(app, ["import", str(QUEUE_LOG), *data])
    assert imported.exit_code == 0, imported.output
    said = " ".join(imported.output.split())  # the tables' wrapping aside
    assert "accepted │ 10" in said and "rejected │ 3" in said
    assert "│ 30 │ unknown event 'FROBNICATE' │" in said
    assert "warning: 1 call(s) still in progress" in said
    if config is not None:
        (tmp_path / "center.toml").write_text(config)
        applied = CliRunner().invoke(
            app, ["cc", "config", "apply", str(tmp_path / "center.toml"), *data]
        )
        assert applied.exit_code == 0, applied.output
    ran = CliRunner().invoke(
        app,
        ["report", "contact-center", "--from", "2026-03-01", "--to", "2026-04-01"]
        + ["--format", "json", *data],
    )
    assert ran.exit_code == 0, ran.output
    (support,) = orjson.loads(ran.stdout)["rows"]
    assert support["queue"] == "support"
    return dict(support)


def test_the_kpis_after_an_import_are_app_queues(tmp_path: Path) -> None:
    support = imported_kpis(tmp_path)
    assert (support["offered"], support["answered"], support["abandoned"]) == (10, 5, 4)
    assert support["short_abandoned"] == 1
    assert support["sl"] == pytest.approx(3 / 5)
    assert support["sl2"] == pytest.approx(5 / 9)
    assert support["asa_s"] == pytest.approx(22.6)
    assert support["aht_s"] == pytest.approx(122.0)
    assert support["transfers"] == 2


def test_an_answered_call_carries_its_wait_talk_agent_and_ring_no_answers() -> None:
    c1 = calls_by_callid()["1772445700.11"]
    assert c1["id"] == f"asterisk:1772445700.11:support:{T0 + 238}"
    assert (c1["type"], c1["channel"], c1["direction"]) == ("call", "phone", "inbound")
    assert c1["occurred_at"] == "2026-03-02T10:01:40+00:00"  # its ENTERQUEUE, line 5
    assert c1["customer"] == {"phone": "+12125550101"}
    assert (c1["agent"], c1["queue"], c1["duration_s"], c1["outcome"]) == (
        "Agent/1002",
        "support",
        120.0,
        "answered",
    )
    assert c1["properties"] == {
        "asterisk_callid": "1772445700.11",
        "wait_s": 18.0,
        "ended_by": "caller",
        "original_position": 1,
        "ring_s": 8.0,
        "ring_no_answers": 1,
        "ring_no_answer_s": 15.0,
        "ring_no_answer_agents": ["Agent/1001"],
    }
    c2 = calls_by_callid()["1772445800.21"]
    assert c2["customer"] == {"phone": "+442079460018"}  # a number with its + country code
    assert c2["properties"]["ended_by"] == "agent"


def test_how_a_call_left_the_queue_is_its_outcome() -> None:
    calls = calls_by_callid()
    left = {
        callid: (c["outcome"], c["properties"].get("queue_exit"), c["properties"]["wait_s"])
        for callid, c in calls.items()
        if "agent" not in c
    }
    assert left == {
        "1772446200.41": ("abandoned", "abandon", 3.0),
        "1772446300.51": ("abandoned", "abandon", 30.0),
        "1772446400.61": ("abandoned", "timeout", 60.0),
        "1772446500.71": ("abandoned", "empty", 8.0),
        "1772446600.81": ("exit_with_key", "key", 15.0),
    }
    assert calls["1772446600.81"]["properties"]["key"] == "5"
    assert calls["1772446400.61"]["properties"]["position"] == 1
    # a withheld number: the call's own anonymous identity
    assert calls["1772446300.51"]["customer"] == {"anonymous_id": "asterisk:1772446300.51"}


def test_transfers_are_answered_calls_handed_on() -> None:
    calls = calls_by_callid()
    blind, attended = calls["1772446700.91"], calls["1772446800.101"]
    assert (blind["agent"], blind["duration_s"], blind["properties"]["wait_s"]) == (
        "Agent/1001",
        90.0,
        5.0,
    )
    assert {k: blind["properties"][k] for k in ("transfers", "transfer", "transfer_to")} == {
        "transfers": 1,
        "transfer": "blind",
        "transfer_to": "2000@from-internal",
    }
    assert attended["properties"]["transfer_to"] == "BRIDGE:6f0c8e0a-7d2b"
    assert (attended["duration_s"], attended["properties"]["wait_s"]) == (40.0, 25.0)


def test_bad_lines_are_named_and_the_rest_is_read() -> None:
    rows, warnings = read(QUEUE_LOG.read_text())
    rejected = {n: r.reason for n, r in rows if isinstance(r, ItemResult)}
    assert rejected == {
        30: "unknown event 'FROBNICATE'",
        31: "not a queue_log line: 1 field(s), expected epoch|callid|queue|agent|EVENT|data…",
        32: "time: 'yesterday' is not a Unix time in seconds",
    }
    assert [n for n, r in rows if isinstance(r, dict)] == [10, 12, 13, 15, 17, 19, 21, 23, 26, 29]
    assert warnings == [
        "1 call(s) still in progress at the end of the file (no end line yet; first seen on "
        "line 33): not imported; import the file that holds their end",
        "7 agent session line(s), not interactions (kept in the contact center's event "
        "trail): ADDMEMBER 1, AGENTLOGIN 1, AGENTLOGOFF 1, PAUSE 1, PAUSEALL 1, "
        "REMOVEMEMBER 1, UNPAUSE 1",
    ]


def test_a_field_that_is_not_a_number_is_named() -> None:
    rows, warnings = read(
        f"{T0}|1.1|support|NONE|ENTERQUEUE||2125550101|1\n"
        f"{T0 + 18}|1.1|support|Agent/1|COMPLETECALLER|18|soon|1\n"
        f"{T0 + 20}|1.2|support|NONE|ABANDON|1|1|2\n"
    )
    (number, result), (_, abandoned) = rows
    assert number == 2 and isinstance(result, ItemResult)
    assert result.reason == "COMPLETECALLER: calltime (data field 2) is not a whole number: 'soon'"
    assert abandoned["outcome"] == "abandoned"
    assert warnings == []  # the refused call is not also "still in progress"


def test_a_file_of_agent_sessions_only_has_no_call_but_is_no_mistake() -> None:
    rows, warnings = read(
        f"{T0}|NONE|support|Agent/1|ADDMEMBER|\n{T0 + 1}|NONE|support|Agent/1|PAUSE|x\n"
    )
    assert rows == []  # its sessions go to the contact center's trail (agent_steps)
    assert warnings == [
        "2 agent session line(s), not interactions (kept in the contact center's event "
        "trail): ADDMEMBER 1, PAUSE 1"
    ]


def test_a_file_of_calls_still_open_only_has_nothing_to_import() -> None:
    with pytest.raises(ValidationError, match=r"no call ends in it \(1 call\(s\) still in"):
        read(f"{T0}|c1|support|NONE|ENTERQUEUE||2125550101|1\n")
    with pytest.raises(ValidationError, match=r"is empty: nothing to import"):
        read("\n\n")


def stored(tp: Touchpoint) -> list[dict[str, Any]]:
    with tp.engine.connect() as conn:
        rows = conn.execute(select(interactions).order_by(interactions.c.id)).mappings()
        return [dict(r) for r in rows]


def test_a_reimport_stores_nothing_twice(tp: Touchpoint) -> None:
    first = import_file(tp, QUEUE_LOG, file_format="asterisk-queue-log")
    assert (first.accepted, first.duplicates, len(first.rejected)) == (10, 0, 3)
    before = stored(tp)
    again = import_file(tp, QUEUE_LOG, file_format="asterisk-queue-log")
    assert (again.accepted, again.duplicates, len(again.conflicts)) == (0, 10, 0)
    assert stored(tp) == before and len(before) == 10


def test_a_call_over_two_files_lands_once_from_the_file_that_ends_it(
    tp: Touchpoint, tmp_path: Path
) -> None:
    """Rotated logs: the ENTERQUEUE and CONNECT in one file, the COMPLETECALLER in the next."""
    older, newer = tmp_path / "queue_log.1", tmp_path / "queue_log"
    older.write_text(
        f"{T0}|9.1|sales|NONE|ENTERQUEUE||2125550150|1\n"
        f"{T0 + 12}|9.1|sales|Agent/7|CONNECT|12|9.2|3\n"
        f"{T0 + 20}|9.3|sales|NONE|ENTERQUEUE||2125550151|1\n"
        f"{T0 + 24}|9.3|sales|NONE|ABANDON|1|1|4\n"
    )
    newer.write_text(f"{T0 + 100}|9.1|sales|Agent/7|COMPLETEAGENT|12|88|1\n")
    first = import_file(tp, older)
    assert first.accepted == 1  # the abandon; the other call is still in progress
    assert first.warnings[0].startswith("1 call(s) still in progress")
    second = import_file(tp, newer)
    assert second.accepted == 1
    call = next(r for r in stored(tp) if r["agent"] == "Agent/7")
    assert (call["duration_s"], call["properties"]["wait_s"]) == (88.0, 12.0)
    assert call["occurred_at"].isoformat().startswith("2026-03-02T10:00:00")  # T0 + 100 - 88 - 12
    again = [import_file(tp, path) for path in (older, newer)]
    assert [(r.accepted, r.duplicates) for r in again] == [(0, 1), (0, 1)]
    assert len(stored(tp)) == 2


def test_a_queues_target_is_its_servicelevel(tmp_path: Path) -> None:
    """servicelevel=30 (target 80/30): within are c1 18, c2 20, c9 5 and c10 25 of the
    completed (SL 4/5), c4 3, c7 8 and c5 30 (30 <= 30) of the abandoned (SL2 7/9)."""
    config = '[queues.support]\nchannels = ["phone"]\ntarget = "80/30"\n'
    support = imported_kpis(tmp_path, config)
    assert support["threshold_s"] == 30.0
    assert support["sl"] == pytest.approx(4 / 5)
    assert support["sl2"] == pytest.approx(7 / 9)


def test_a_rotated_gzipped_queue_log_is_known_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "queue_log.1.gz"
    path.write_bytes(gzip.compress(QUEUE_LOG.read_bytes()))
    kind = file_kind(path, None)
    assert kind == "asterisk-queue-log"
    with file_rows(path, kind, SegmentEventMap()) as rows:
        read = [r for _, r in rows]
    assert sum(isinstance(r, dict) for r in read) == 10


def test_a_withdrawal_is_abandoned_and_an_old_transfer_is_a_blind_one() -> None:
    """WITHDRAW (position|origposition|waittime|info) calls record_abandoned(); Asterisk 11's
    TRANSFER is extension|context|holdtime|calltime|origposition."""
    rows, _ = read(
        f"{T0 + 9}|3.1|support|NONE|WITHDRAW|2|3|9|moved to sales\n"
        f"{T0 + 70}|3.2|support|SIP/ann|TRANSFER|300|from-internal|10|60|1\n"
    )
    (_, withdrawn), (_, moved) = rows
    assert (withdrawn["outcome"], withdrawn["properties"]["queue_exit"]) == (
        "abandoned",
        "withdraw",
    )
    assert withdrawn["properties"]["wait_s"] == 9.0
    assert withdrawn["occurred_at"] == "2026-03-02T10:00:00+00:00"
    assert (moved["agent"], moved["duration_s"], moved["properties"]["wait_s"]) == (
        "SIP/ann",
        60.0,
        10.0,
    )
    assert moved["properties"]["transfer_to"] == "300@from-internal"
    assert moved["occurred_at"] == "2026-03-02T10:00:00+00:00"
