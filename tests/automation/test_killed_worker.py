"""A real worker process killed with SIGKILL at random moments while it sends, then restarted:
every customer's mail arrives, each under one Message-ID, and a message arrives twice only when a
kill fell between the SMTP server's acceptance and the commit that records it (the documented
at-least-once window), so at most once per kill."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.automation.conftest import Inbox
from tests.automation.test_email_runs import QUICK
from tests.builders import interaction
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

CUSTOMERS = 120
KILLS = 4
# The worker: the scheduler's automation pass in a loop, its clock two hours after the carts
# plus the wall time since the test began (so a killed worker's one-second lease passes).
WORKER = """
import sys, time
from datetime import timedelta
from tests.builders import T0
from touchpoint.runtime import open_touchpoint
from touchpoint.services import playbooks
from touchpoint.settings import load_settings
began = float(sys.argv[1])
tp = open_touchpoint(load_settings())
while True:
    playbooks.run(tp, T0 + timedelta(hours=2, seconds=time.time() - began))
    if playbooks.next_due(tp) is None:
        break
    time.sleep(0.05)
"""


class SlowInbox(Inbox):
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        import asyncio

        await asyncio.sleep(0.02)  # a real server's pace: kills land mid-send too
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.slow
def test_sigkilled_workers_deliver_every_mail_under_one_message_id(
    sqlite_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    box.__class__ = SlowInbox
    data = sqlite_settings.data_dir
    (data / "playbooks").mkdir(parents=True)
    (data / "playbooks" / "quick_cart.toml").write_text(QUICK)
    tp = open_touchpoint(sqlite_settings)
    items = []
    for i in range(CUSTOMERS):
        email = f"c{i}@example.com"
        items.append(interaction(type="consent_granted", channel="email", email=email, at=-60))
        items.append(
            interaction(type="cart_abandoned", channel="web", email=email, traits={"name": f"C{i}"})
        )
    tp.ingestor.ingest(list(enumerate(items)))
    tp.close()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "TOUCHPOINT_DATA_DIR": str(data),
        "TOUCHPOINT_SMTP_HOST": "127.0.0.1",
        "TOUCHPOINT_SMTP_PORT": str(port),
        "TOUCHPOINT_SMTP_SECURITY": "none",
        "TOUCHPOINT_AUTOMATION_SECRET": "test-secret",
        "TOUCHPOINT_AUTOMATION_LEASE_SECONDS": "1",
    }
    began = str(time.time())
    rng = random.Random(14)
    arrived_at_kills = []
    for _ in range(KILLS):
        worker = subprocess.Popen([sys.executable, "-c", WORKER, began], env=env)
        target, deadline = len(box.messages) + rng.randint(1, 20), time.monotonic() + 120
        while len(box.messages) < target and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.0, 0.01))  # into its sending, at a random moment
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        arrived_at_kills.append(len(box.messages))
    # The kills fell while it sent (some mail arrived, not all), not before or after.
    assert 0 < arrived_at_kills[0] < arrived_at_kills[-1] < CUSTOMERS, arrived_at_kills
    last = subprocess.run([sys.executable, "-c", WORKER, began], env=env, timeout=300)
    assert last.returncode == 0
    ids = Counter(str(m["Message-ID"]) for m in box.messages)
    recipients = {str(m["To"]) for m in box.messages}
    assert recipients == {f"c{i}@example.com" for i in range(CUSTOMERS)}  # none lost
    assert len(ids) == CUSTOMERS  # one Message-ID per customer, resent or not
    assert sum(n - 1 for n in ids.values()) <= KILLS  # a duplicate only in a kill's window
