"""Loyalty points and tiers as playbook actions: awards and a tier set as `custom` interactions,
a balance of awards minus redemptions (worked by hand), and a retried step that awards once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.automation.test_actions import write
from tests.automation.test_email_runs import logged, record
from tests.builders import interaction
from touchpoint.automation import effects
from touchpoint.automation.playbooks import read_playbook
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import loyalty, playbooks
from touchpoint.services.scheduler import run_once
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection

WELCOME = """name = "loyalty_welcome"
[trigger]
interaction = "purchase"
[[steps]]
award_points = { points = 50, reason = "welcome" }
[[steps]]
award_points = { points = 25, reason = "first order" }
[[steps]]
set_tier = { tier = "silver" }
"""


def test_points_must_be_a_positive_whole_number_named_by_line() -> None:
    bad = WELCOME.replace("points = 25", "points = 2.5").replace('tier = "silver"', "")
    with pytest.raises(ValidationError) as caught:
        read_playbook(Path("l.toml"), bad)
    assert str(caught.value).split("; ") == [
        "l.toml:7: steps[1].award_points.points: must be a whole number from 1 to 1000000",
        "l.toml:9: steps[2].set_tier.tier: missing (text)",
    ]


def test_a_balance_is_awards_minus_redemptions_and_a_retry_awards_once(tp: Touchpoint) -> None:
    write(tp, "loyalty_welcome", WELCOME)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    record(tp, interaction(type="purchase", email="lou@example.com", at=now))
    run_once(tp)
    (run,) = playbooks.list_runs(tp, playbook="loyalty_welcome")
    assert run.status == "done", run
    record(
        tp,
        interaction(
            type="custom",
            name="loyalty_redeemed",
            email="lou@example.com",
            at=now + timedelta(minutes=1),
            properties={"points": 30},
        ),
    )
    found = loyalty.balance(tp, run.customer_id)
    # 50 + 25 awarded, 30 redeemed: 45
    assert (found.balance, found.earned, found.redeemed, found.tier) == (45, 75, 30, "silver")
    # the first award's step performed again (a retry after a crash): the same interaction id
    auto = playbooks.automation(tp)
    playbook = auto.playbooks["loyalty_welcome"].playbook
    with read_connection(tp.engine) as conn:
        (key,) = conn.execute(
            store.playbook_steps.select()
            .with_only_columns(store.playbook_steps.c.key)
            .where(store.playbook_steps.c.run_id == run.id, store.playbook_steps.c.step == 0)
        ).scalars()
    row = {"key": key, "run_id": run.id, "step": 0}
    context = {"customer": {"identity_keys": ["email:lou@example.com"]}}
    again = effects.loyalty(row, playbook, playbook.steps[0], context, now + timedelta(hours=1))
    assert again.log_item is not None
    report = tp.ingestor.ingest([(0, again.log_item)])
    # same id, a later moment: refused as a conflict with the first (never stored twice)
    assert report.results[0].status == "conflict"
    assert loyalty.balance(tp, run.customer_id).balance == 45
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", "customer"]
    command += ["show", "lou@example.com", "--data-dir", str(tp.settings.data_dir)]
    env = {"COLUMNS": "200", "PATH": ""}
    if tp.settings.database_url:
        env["TOUCHPOINT_DATABASE_URL"] = tp.settings.database_url
    shown = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Loyalty: 45 points (75 earned, 30 redeemed), tier silver" in shown.stdout
    awards = [r for r in logged(tp, "custom") if r["name"] == "loyalty_points"]
    assert sorted(r["properties"]["points"] for r in awards) == [25, 50]
