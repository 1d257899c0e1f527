"""Claim (issue 14), a first measure: customers entering a playbook have their first step
scheduled, and due sends go out, how fast? Goal (issue 14): 100,000 customers entering a playbook
have their first step scheduled in under 30 s (so 3,333 runs/s), p99 trigger-to-action under 1 s.

N customers each abandon a cart (with email consent); the baseline beside it in the same run is
ingesting those interactions (what the trigger consumer must keep up with). Then the automation
pass: the trigger consumer starts N runs (their wait steps scheduled), the waits pass, and the
sends go to a real SMTP server on loopback (aiosmtpd). Each phase prints wall and CPU seconds
(the machine is shared: CPU is the steadier figure). Run creation is set-based: a batch of 1,000
triggers looks its keys up at once and writes its runs and first steps with one executemany each.
Last measured (SQLite, the shared 2-core machine at load 5-13): 100,000 runs started in 41.1 s
wall / 11.2 s CPU (2,433 runs/s wall, 8,900 per CPU second; goal 3,333/s wall), beside ingest at
1,473 events/s wall the same run; 2,000 customers: 14,072 runs/s (was 1,237/s before run creation
was set-based). The latency run at 1,000 events/s is bench/playbooks_latency.py; PostgreSQL is
still to do.

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


class Clock:
    """Wall and CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        spent = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return spent


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
    parser.add_argument("--no-send", action="store_true", help="stop after the waits")
    parser.add_argument("--start-only", action="store_true", help="stop once runs are started")
    arguments = parser.parse_args()
    n, skip_send, start_only = arguments.customers, arguments.no_send, arguments.start_only
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
        clock = Clock()
        for start in range(0, len(items), 10_000):
            tp.ingestor.ingest(items[start : start + 10_000])
        ingest_s = clock.lap()
        auto = playbooks.automation(tp)
        started = runs.follow_triggers(auto, T0 + timedelta(minutes=1))
        trigger_s = clock.lap()
        if not start_only:
            runs.execute_due(auto, T0 + timedelta(minutes=2))  # the waits: sends at T0 + 1 h
        wait_s = clock.lap()
        sent = 0
        if not skip_send and not start_only:
            runs.execute_due(auto, T0 + timedelta(hours=2))
            sent = counter.n
        send_s = clock.lap()
        tp.close()
    controller.stop()
    table = Table(title=f"Playbooks, {n:,} customers (SQLite)")
    for column in ("what", "wall s", "CPU s", "per wall second", "goal / baseline"):
        table.add_column(column, justify="left" if column == "what" else "right")
    rows = [
        ("baseline: ingest 2 interactions each", ingest_s, 2 * n, "events", "-"),
        (
            f"runs started ({started:,}), first step scheduled",
            trigger_s,
            started,
            "runs",
            f"{GOAL_SCHEDULED_PER_S:,.0f} runs/s",
        ),
        ("wait steps executed", wait_s, n, "steps", "-"),
        (f"emails sent ({sent:,} arrived)", send_s, sent, "mails", "-"),
    ]
    if start_only:
        rows = rows[:2]
    elif skip_send:
        rows = rows[:3]
    for what, (wall, cpu), count, unit, goal in rows:
        rate = f"{count / wall:,.0f} {unit}" if wall > 0 else "-"
        table.add_row(what, f"{wall:.2f}", f"{cpu:.2f}", rate, goal)
    Console().print(table)


if __name__ == "__main__":
    main()
