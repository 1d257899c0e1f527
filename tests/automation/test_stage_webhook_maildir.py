"""A playbook on the lifecycle stream (stage_entered) calling a signed webhook at a loopback
receiver, once, whose signature checks with an independent HMAC; and email without an SMTP host
landing in the data directory's Maildir."""

from __future__ import annotations

import hashlib
import hmac
import json
import mailbox
from datetime import timedelta
from typing import Any

import pytest

from tests.automation.test_email_runs import record
from tests.builders import T0, interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services.scheduler import run_once

SECRET = "hook-secret"


def test_a_stage_entered_playbook_calls_its_signed_webhook_once(
    tp: Touchpoint, receiver: tuple[list[dict[str, Any]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    got, url = receiver
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "new_buyer.toml").write_text(
        f"""name = "new_buyer"
[trigger]
stage_entered = "conversion"
[[steps]]
webhook = {{ url = "{url}", secret_env = "HOOK_SECRET" }}
"""
    )
    record(tp, interaction(type="purchase", channel="web", email="bo@example.com", revenue=10.0))
    run_once(tp, T0 + timedelta(minutes=5))
    run_once(tp, T0 + timedelta(minutes=10))
    (call,) = got
    timestamp, mac = call["signature"].removeprefix("t=").split(",v1=")
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + call["body"], hashlib.sha256)
    assert mac == expected.hexdigest()
    payload = json.loads(call["body"])
    assert payload["playbook"] == "new_buyer" and payload["delivery_id"].startswith("whd_")
    (run,) = playbooks.list_runs(tp, playbook="new_buyer")
    assert run.status == "done" and run.trigger_id.startswith("stage_entered:conversion:")


def test_without_an_smtp_host_mail_goes_to_the_maildir(tp: Touchpoint) -> None:
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "receipt.toml").write_text(
        """name = "receipt"
[trigger]
interaction = "purchase"
[[steps]]
send_email = { template = "first_purchase_thanks", subject = "Thanks", transactional = true }
"""
    )
    record(tp, interaction(type="purchase", channel="web", email="cy@example.com", revenue=12.0))
    run_once(tp, T0 + timedelta(minutes=1))
    (message,) = list(mailbox.Maildir(tp.settings.data_dir / "mail", create=False))
    assert message["To"] == "cy@example.com" and message["Subject"] == "Thanks"
    assert "thank you for your first order (12.00" in message.get_payload()
