"""An Asterisk queue_log's agent sessions reach the contact center's event trail: log-ins
(ADDMEMBER, AGENTLOGIN), pauses and log-outs, and each call from CONNECT to its end, so the
occupancy report covers Asterisk's agents — equal to a hand calculation for a small hand-made
log — and importing the file again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from touchpoint.analytics.contact_center import load_history
from touchpoint.domain import contact_center as cc
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_events

T0 = 1_780_000_000  # 2026-05-28 20:26:40 UTC
START = datetime.fromtimestamp(T0, UTC)

# Agent/1001 is a member of support from T0 to T0+1800 (30 min), paused 10 minutes for lunch
# in between (still logged in), and talks to two callers: 70 -> 370 (300 s) and 1320 -> 1500
# (180 s). Agent/1002 logs in at T0+100 and out at T0+700, idle: logged in 600 s, busy 0.
LOG = f"""\
{T0}|NONE|support|Agent/1001|ADDMEMBER|
{T0 + 60}|c1|support|NONE|ENTERQUEUE||2125550101|1
{T0 + 70}|c1|support|Agent/1001|CONNECT|10|c1.2|3
{T0 + 100}|n1|NONE|Agent/1002|AGENTLOGIN|PJSIP/1002-00000001
{T0 + 370}|c1|support|Agent/1001|COMPLETECALLER|10|300|1
{T0 + 600}|NONE|support|Agent/1001|PAUSE|lunch
{T0 + 700}|n2|NONE|Agent/1002|AGENTLOGOFF|PJSIP/1002-00000001|600
{T0 + 1200}|NONE|support|Agent/1001|UNPAUSE|
{T0 + 1300}|c2|support|NONE|ENTERQUEUE||2125550102|1
{T0 + 1320}|c2|support|Agent/1001|CONNECT|20|c2.2|2
{T0 + 1500}|c2|support|Agent/1001|COMPLETEAGENT|20|180|1
{T0 + 1800}|NONE|support|Agent/1001|REMOVEMEMBER|
"""


@pytest.fixture
def queue_log(tmp_path: Path) -> Path:
    path = tmp_path / "queue_log"
    path.write_text(LOG)
    return path


def trail_size(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(cc_events)).scalar_one())


def test_occupancy_from_a_queue_log_is_the_hand_calculation(
    tp: Touchpoint, queue_log: Path
) -> None:
    report = import_file(tp, queue_log, file_format="asterisk-queue-log")
    assert report.accepted == 2  # the two calls, in the log as before
    # 8 steps of Agent/1001 (add, 2 x connect and end, pause, unpause, remove), 2 of 1002
    assert any("10 agent step(s)" in w for w in report.warnings), report.warnings
    history = load_history(tp.settings, START, START + timedelta(hours=1))
    logged_in, busy = history.agents["Agent/1001"]
    assert (logged_in, busy) == (1800.0, 300.0 + 180.0)
    assert cc.occupancy(logged_in, busy) == pytest.approx(480 / 1800)
    assert history.agents["Agent/1002"] == (600.0, 0.0)


def test_importing_the_queue_log_again_adds_no_step(tp: Touchpoint, queue_log: Path) -> None:
    import_file(tp, queue_log, file_format="asterisk-queue-log")
    before = trail_size(tp)
    again = import_file(tp, queue_log, file_format="asterisk-queue-log")
    assert trail_size(tp) == before == 10
    assert not any("agent step" in w for w in again.warnings)
    history = load_history(tp.settings, START, START + timedelta(hours=1))
    assert history.agents["Agent/1001"] == (1800.0, 480.0)


def test_a_queue_log_of_agent_sessions_only_is_imported(tp: Touchpoint, tmp_path: Path) -> None:
    # Agent/7 joins support at T0, pauses 100 -> 400, leaves at 1000: logged in 1,000 s, no call
    path = tmp_path / "queue_log"
    path.write_text(
        f"{T0}|NONE|support|Agent/7|ADDMEMBER|\n"
        f"{T0 + 100}|NONE|support|Agent/7|PAUSE|break\n"
        f"{T0 + 400}|NONE|support|Agent/7|UNPAUSE|\n"
        f"{T0 + 1000}|NONE|support|Agent/7|REMOVEMEMBER|\n"
    )
    report = import_file(tp, path, file_format="asterisk-queue-log")
    assert (report.accepted, len(report.rejected)) == (0, 0)
    assert any("4 agent step(s)" in w for w in report.warnings), report.warnings
    history = load_history(tp.settings, START, START + timedelta(hours=1))
    assert history.agents["Agent/7"] == (1000.0, 0.0)


def test_leaving_one_queue_while_in_another_stays_logged_in(tp: Touchpoint, tmp_path: Path) -> None:
    # Agent/8: support at 0, sales too at 10, leaves support at 300 (still in sales), a sales
    # call 400 -> 500, leaves sales at 900: logged in 0 -> 900, busy 100 s.
    # Agent/9: support and sales at 0, AGENTLOGOFF at 200 (out of both): logged in 200 s.
    path = tmp_path / "queue_log"
    path.write_text(
        f"{T0}|NONE|support|Agent/8|ADDMEMBER|\n"
        f"{T0}|NONE|support|Agent/9|ADDMEMBER|\n"
        f"{T0}|NONE|sales|Agent/9|ADDMEMBER|\n"
        f"{T0 + 10}|NONE|sales|Agent/8|ADDMEMBER|\n"
        f"{T0 + 200}|n9|NONE|Agent/9|AGENTLOGOFF|PJSIP/9-1|200\n"
        f"{T0 + 300}|NONE|support|Agent/8|REMOVEMEMBER|\n"
        f"{T0 + 390}|c1|sales|NONE|ENTERQUEUE||2125550101|1\n"
        f"{T0 + 400}|c1|sales|Agent/8|CONNECT|10|c1.2|3\n"
        f"{T0 + 500}|c1|sales|Agent/8|COMPLETECALLER|10|100|1\n"
        f"{T0 + 900}|NONE|sales|Agent/8|REMOVEMEMBER|\n"
    )
    report = import_file(tp, path, file_format="asterisk-queue-log")
    assert report.accepted == 1
    # Agent/8: join, connect, end, last leave (the second join and first leave are no step);
    # Agent/9: join, log-off
    assert any("6 agent step(s)" in w for w in report.warnings), report.warnings
    history = load_history(tp.settings, START, START + timedelta(hours=1))
    assert history.agents["Agent/8"] == (900.0, 100.0)
    assert history.agents["Agent/9"] == (200.0, 0.0)
