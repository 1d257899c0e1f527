"""Claim (issue 14), a first measure: customers entering a playbook have their first step
scheduled, and due sends go out, how fast? Goal (issue 14): 100,000 customers entering a playbook
have their first step scheduled in under 30 s (so 3,333 runs/s), p99 trigger-to-action under 1 s.

N customers each abandon a cart (with email consent); the baseline beside it in the same run is
ingesting those interactions (what the trigger consumer must keep up with). Then the automation
pass: the trigger consumer starts N runs (their wait steps scheduled), the waits pass, and the
sends go to a real SMTP server on loopback (aiosmtpd). This session's bench measures throughput
on SQLite; the 1,000 events/s latency run and PostgreSQL are still to do.

    uv run python bench/playbooks.py [--customers 2000]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table

from touchpoint.automation import runs
from touchpoint.runtime import open_touchpoint
from touchpoint.services import playbooks
from touchpoint.settings import Settings

GOAL_SCHEDULED_PER_S = 100_000 / 30
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)  # carts 3 hours ago
QUICK = """name = "bench_cart"
[trigger]
interaction = "cart_abandoned"
[[steps]]
wait = "1h"
[[steps]]
send_email = { template = "abandoned_cart", subject = "You left something" }
"""


class Count:
    def __init__(self) -> None:
        self.n = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.n += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2_000)
    n = parser.parse_args().customers
    counter, port = Count(), _port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        (data / "playbooks").mkdir()
        (data / "playbooks" / "bench_cart.toml").write_text(QUICK)
        settings = Settings(
            data_dir=data,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            automation_secret="bench",
        )
        tp = open_touchpoint(settings)
        items = []
        for i in range(n):
            who = {"email": f"c{i}@example.com"}
            at = (T0 - timedelta(minutes=5)).isoformat()
            items.append(
                (
                    2 * i,
                    {
                        "type": "consent_granted",
                        "channel": "email",
                        "occurred_at": at,
                        "customer": who,
                        "id": f"g{i}",
                    },
                )
            )
            items.append(
                (
                    2 * i + 1,
                    {
                        "type": "cart_abandoned",
                        "channel": "web",
                        "occurred_at": T0.isoformat(),
                        "customer": who,
                        "id": f"c{i}",
                    },
                )
            )
        began = time.perf_counter()
        tp.ingestor.ingest(items)
        ingest_s = time.perf_counter() - began
        auto = playbooks.automation(tp)
        began = time.perf_counter()
        started = runs.follow_triggers(auto, T0 + timedelta(minutes=1))
        trigger_s = time.perf_counter() - began
        began = time.perf_counter()
        runs.execute_due(auto, T0 + timedelta(minutes=2))  # the waits: sends due at T0 + 1 h
        wait_s = time.perf_counter() - began
        began = time.perf_counter()
        runs.execute_due(auto, T0 + timedelta(hours=2))
        send_s = time.perf_counter() - began
        tp.close()
    controller.stop()
    table = Table(title=f"Playbooks, {n:,} customers (SQLite)")
    for column in ("what", "seconds", "per second", "goal / baseline"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row(
        "baseline: ingest 2 interactions each",
        f"{ingest_s:.2f}",
        f"{2 * n / ingest_s:,.0f} events",
        "-",
    )
    table.add_row(
        f"runs started ({started:,}), first step scheduled",
        f"{trigger_s:.2f}",
        f"{started / trigger_s:,.0f} runs",
        f"{GOAL_SCHEDULED_PER_S:,.0f} runs/s",
    )
    table.add_row("wait steps executed", f"{wait_s:.2f}", f"{n / wait_s:,.0f} steps", "-")
    table.add_row(
        f"emails sent ({counter.n:,} arrived)",
        f"{send_s:.2f}",
        f"{counter.n / send_s:,.0f} mails",
        "-",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
