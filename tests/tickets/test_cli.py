"""`touchpoint tickets …` on the embedded default: open, reply, solve, list, show, FCR; a
mistake is one line naming the field."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import touchpoint
from tests.tickets.desk import CONFIG


def test_the_cli_opens_replies_solves_and_lists_tickets(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert touchpoint("init", data_dir=data).returncode == 0
    config = tmp_path / "cc.toml"
    config.write_text(CONFIG)
    assert touchpoint("cc", "config", "apply", str(config), data_dir=data).returncode == 0
    opened = touchpoint(
        "tickets",
        "open",
        "Where is my parcel?",
        "--queue",
        "sales",
        "--email",
        "ann@example.com",
        "--priority",
        "urgent",
        data_dir=data,
    )
    assert opened.returncode == 0, opened.stderr
    (ticket_id,) = re.findall(r"tkt_[0-9a-f]{16}", opened.stdout.split("\n")[0])
    assert "first_response" in opened.stdout and "running" in opened.stdout
    replied = touchpoint("tickets", "reply", ticket_id, "--agent", "ana", data_dir=data)
    assert replied.returncode == 0 and "next_response" in replied.stdout, replied.stderr
    solved = touchpoint("tickets", "status", ticket_id, "solved", data_dir=data)
    assert solved.returncode == 0 and "solved" in solved.stdout
    listed = touchpoint("tickets", "list", "--status", "solved", data_dir=data)
    assert ticket_id in listed.stdout
    refused = touchpoint("tickets", "status", ticket_id, "new", data_dir=data)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "status: a solved ticket cannot become new" in refused.stderr
    fcr = touchpoint("tickets", "fcr", data_dir=data)
    assert "1 solved" in fcr.stdout and "1 not known yet" in fcr.stdout, fcr.stderr
