"""Quiet hours, frequency caps and the send-by window against a real SMTP server, on SQLite and
PostgreSQL: a marketing mail due at 22:00 in Berlin is deferred to 08:00 there and then sent (not
dropped); a mail five hours late after a downtime is suppressed as stale, not sent; a cap of one
marketing mail a day holds across two playbooks (the second suppressed, with its reason, in the
log), while a transactional mail still goes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.automation.conftest import Inbox
from tests.automation.test_email_runs import logged, record
from tests.builders import T0, interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services.scheduler import run_once

SEND = """[trigger]
interaction = "cart_abandoned"
[[steps]]
send_email = { template = "abandoned_cart", subject = "Your cart" TRANSACTIONAL}
"""


def write(tp: Touchpoint, name: str, *, transactional: bool = False) -> None:
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir(exist_ok=True)
    extra = ", transactional = true" if transactional else ""
    (folder / f"{name}.toml").write_text(
        f'name = "{name}"\n' + SEND.replace(" TRANSACTIONAL", extra)
    )


def customer(email: str, minutes: int, zone: str = "UTC") -> list[dict[str, Any]]:
    """Consent an hour before, then a cart `minutes` after T0 (12:00 UTC, 1 January 2026)."""
    who = {"email": email, "traits": {"timezone": zone}}
    return [
        interaction(type="consent_granted", channel="email", at=minutes - 60, **who),
        interaction(type="cart_abandoned", at=minutes, **who),
    ]


def test_a_send_in_quiet_hours_is_deferred_to_their_end(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write(mtp, "cart_now")
    # the cart at 21:00 UTC is 22:00 in Berlin (CET, UTC+1): quiet until 08:00 = 07:00 UTC
    record(mtp, *customer("ann@example.com", 9 * 60, "Europe/Berlin"))
    run_once(mtp, T0 + timedelta(hours=9, minutes=1))
    assert box.messages == []
    (run,) = playbooks.list_runs(mtp, playbook="cart_now")
    (step,) = run.steps
    assert step.status == "pending" and step.due_at == T0 + timedelta(hours=19)
    assert step.outcome and step.outcome["outcome"] == "deferred"
    run_once(mtp, T0 + timedelta(hours=18, minutes=59))
    assert box.messages == []
    run_once(mtp, T0 + timedelta(hours=19))
    (mail,) = box.messages
    assert mail["To"] == "ann@example.com"


def test_a_send_past_its_window_after_a_downtime_is_suppressed_as_stale(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write(mtp, "cart_now")
    record(mtp, *customer("bo@example.com", 0))
    # the worker was down: it first runs five hours after the step fell due (the window is 4 h)
    run_once(mtp, T0 + timedelta(hours=5))
    assert box.messages == []
    (suppressed,) = [r for r in logged(mtp, "custom") if r["name"] == "message_suppressed"]
    assert suppressed["properties"]["reason"].startswith("stale: due 2026-01-01T12:00:00+00:00")


def test_a_daily_cap_holds_across_playbooks_and_spares_transactional_mail(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write(mtp, "cart_a")
    write(mtp, "cart_b")
    write(mtp, "receipt", transactional=True)
    (mtp.settings.data_dir / "playbooks" / "policy.toml").write_text("[caps.email]\nday = 1\n")
    record(mtp, *customer("cy@example.com", 0))
    run_once(mtp, T0 + timedelta(minutes=1))
    subjects = sorted(m["Subject"] for m in box.messages)
    assert subjects == ["Your cart", "Your cart"]  # one marketing (cart_a), one transactional
    outcomes = {
        r.playbook: r.steps[0].outcome for r in playbooks.list_runs(mtp) if r.steps[0].outcome
    }
    assert outcomes["cart_a"]["outcome"] == "sent"  # type: ignore[index]
    assert outcomes["receipt"]["outcome"] == "sent"  # type: ignore[index]
    assert outcomes["cart_b"] == {  # sorted by name, cart_a went first
        "outcome": "suppressed",
        "reason": "frequency_cap: 1 email in the last day, at most 1",
    }
    (suppressed,) = [r for r in logged(mtp, "custom") if r["name"] == "message_suppressed"]
    assert suppressed["properties"]["playbook"] == "cart_b"


def test_the_shipped_birthday_playbook_mails_at_nine_local_once(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    playbooks.set_state(mtp, "birthday", playbooks.ACTIVE, actor="test")
    who = {"email": "jo@example.com", "traits": {"birthday": "1988-01-03", "tz": "Asia/Tokyo"}}
    record(mtp, interaction(type="consent_granted", channel="email", **who))
    # 3 January 2026 09:00 in Tokyo (UTC+9) is 2 January 24:00 UTC = 3 January 00:00 UTC
    run_once(mtp, T0 + timedelta(hours=35, minutes=55))  # 2 January 23:55 UTC
    assert box.messages == []
    run_once(mtp, T0 + timedelta(hours=36))
    run_once(mtp, T0 + timedelta(hours=36, minutes=10))
    (mail,) = box.messages
    assert mail["Subject"] == "Happy birthday!" and mail["To"] == "jo@example.com"
