"""`touchpoint cc monitor --once` against a configured center with waiting contacts: one frame of
the wallboard (queues with waiting, longest wait, agents by state, today's SL and abandonment,
SLA breaches; then the agents), every name printed as text, never as markup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from touchpoint import console as show
from touchpoint.cli import app
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import contact_center as service
from touchpoint.settings import Settings

CONFIG = """
[queues.support]
channels = ["phone", "chat"]
target = "80/20"

[queues.sales]
channels = ["phone"]

[agents.ana]
team = "[red]nights[/red]"
queues = ["support", "sales"]

[agents.bo]
queues = ["support"]
"""


@pytest.fixture
def center(sqlite_settings: Settings) -> Iterator[Touchpoint]:
    tp = open_touchpoint(sqlite_settings, create=True)
    service.apply_config(tp, text=CONFIG, actor="test")
    yield tp
    tp.close()


def monitor(tp: Touchpoint, *args: str) -> str:
    ran = CliRunner().invoke(
        app, ["cc", "monitor", *args, "--data-dir", str(tp.settings.data_dir)], env=WIDE
    )
    assert ran.exit_code == 0, ran.output
    return ran.stdout


WIDE = {"COLUMNS": "160"}


def test_one_frame_shows_the_queues_and_agents(
    center: Touchpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI's console was made when first imported (its width read then, 80 without a
    # terminal): a frame as wide as WIDE says, whatever test imported it first.
    monkeypatch.setattr(show.console, "width", int(WIDE["COLUMNS"]))
    for n in range(2):
        service.offer(
            center, queue="support", channel="phone", identity={"phone": f"+1 415 555 010{n}"}
        )
    service.agent_state(center, "ana", "login")
    out = monitor(center, "--once")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    support = [cell.strip() for cell in rows["support"].split("│")[1:-1]]
    # queue, waiting, longest wait, agents by state, SL, SL2, abandoned, breaches open / today
    assert support[:2] == ["support", "2"] and support[2].endswith("s")
    assert support[3] == "1 not ready, 1 logged out"
    assert support[4:] == ["-", "-", "-", "0 / 0"]  # nothing ended today, no ticket breached
    sales = [cell.strip() for cell in rows["sales"].split("│")[1:-1]]
    assert sales[:4] == ["sales", "0", "-", "1 not ready"]
    ana = [cell.strip() for cell in rows["ana"].split("│")[1:-1]]
    assert ana == ["ana", "[red]nights[/red]", "not ready", "-", "0%"]  # markup shown as text
    assert "Contact center at" in out and "SLA breaches" in out


def test_the_interval_is_checked_and_help_explains(center: Touchpoint) -> None:
    refused = CliRunner().invoke(
        app, ["cc", "monitor", "--interval", "0", "--data-dir", str(center.settings.data_dir)]
    )
    assert refused.exit_code == 2 and "--interval" in refused.output
    helped = CliRunner().invoke(app, ["cc", "monitor", "--help"], env=WIDE)
    assert "--once" in helped.output and "Ctrl-C" in helped.output
