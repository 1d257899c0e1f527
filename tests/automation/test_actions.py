"""The actions beyond messages, on SQLite and PostgreSQL: a VIP playbook sets a trait, adds a tag,
opens a ticket in a queue and asks a team to call the customer back — each once, even when the
run's steps are executed again (the ticket and the contact found by the reference the step gives);
and an SMS through a provider's webhook obeys SMS consent (suppressed without it, or without a
phone number, logged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tests.automation.test_email_runs import logged, record
from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services.contact_center import apply_config
from touchpoint.services.scheduler import run_once
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_contacts, customers, tickets

CENTER = """
[queues.vip]
channels = ["phone", "email"]

[agents.ana]
queues = ["vip"]
capacity = { phone = 1, email = 5 }
"""

VIP = """name = "vip_welcome"
[trigger]
interaction = "purchase"
where = { tier = "gold" }
[[steps]]
set_trait = { name = "tier", value = "gold" }
[[steps]]
add_tag = { tag = "vip" }
[[steps]]
open_ticket = { subject = "Welcome call for a new gold member", queue = "vip" }
[[steps]]
callback = { queue = "vip" }
"""


def write(tp: Touchpoint, name: str, text: str) -> None:
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(text)


def count(tp: Touchpoint, table: Any) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_a_vip_playbook_sets_traits_and_opens_one_ticket_and_one_callback(tp: Touchpoint) -> None:
    apply_config(tp, text=CENTER, actor="test")
    write(tp, "vip_welcome", VIP)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    record(
        tp,
        interaction(
            type="purchase",
            email="ivy@example.com",
            phone="+33612345678",
            at=now,
            properties={"tier": "gold"},
            traits={"tags": ["newsletter"]},
        ),
    )
    run_once(tp)
    (run,) = playbooks.list_runs(tp, playbook="vip_welcome")
    assert run.status == "done", run
    assert [s.outcome["outcome"] for s in run.steps if s.outcome] == [
        "traits_set",
        "traits_set",
        "open_ticket",
        "callback",
    ]
    with read_connection(tp.engine) as conn:
        (traits,) = conn.execute(select(customers.c.traits)).scalars()
    assert traits["tier"] == "gold" and traits["tags"] == ["newsletter", "vip"]
    assert count(tp, tickets) == 1 and count(tp, cc_contacts) == 1
    # the effects again with the same references (a retry after a crash): nothing more
    auto = playbooks.automation(tp)
    ticket_step, callback_step = run.steps[2], run.steps[3]
    assert ticket_step.outcome and callback_step.outcome
    ivy, ref = {"email": "ivy@example.com"}, ticket_step.outcome["external_ref"]
    again = auto.effects["open_ticket"](ivy, {"subject": "x", "queue": "vip"}, ref, "vip_welcome")
    assert again["ticket_id"] == ticket_step.outcome["ticket_id"]
    contact_id = callback_step.outcome["contact_id"]
    with read_connection(tp.engine) as conn:
        (ref,) = conn.execute(
            select(cc_contacts.c.external_ref).where(cc_contacts.c.id == contact_id)
        ).scalars()
    again = auto.effects["callback"](ivy, {"queue": "vip"}, ref, "vip_welcome")
    assert again["contact_id"] == contact_id
    assert count(tp, tickets) == 1 and count(tp, cc_contacts) == 1


SMS = """name = "sms_offer"
[trigger]
interaction = "cart_abandoned"
[[steps]]
webhook = { url = "URL", channel = "sms" }
"""


def test_an_sms_through_a_webhook_obeys_sms_consent(
    tp: Touchpoint, receiver: tuple[list[dict[str, Any]], str]
) -> None:
    got, url = receiver
    write(tp, "sms_offer", SMS.replace("URL", url))
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    if now > datetime.now(UTC):
        now -= timedelta(days=1)
    record(
        tp,
        interaction(type="consent_granted", channel="sms", phone="+33611111111", at=now),
        interaction(type="cart_abandoned", phone="+33611111111", at=now),
        interaction(type="cart_abandoned", phone="+33622222222", at=now),
        interaction(type="cart_abandoned", email="nophone@example.com", at=now),
    )
    run_once(tp, now + timedelta(minutes=1))
    (call,) = got
    assert b'"channel":"sms"' in call["body"] and b'"to":"+33611111111"' in call["body"]
    suppressed = [r for r in logged(tp, "custom") if r["name"] == "message_suppressed"]
    assert sorted(r["properties"]["reason"] for r in suppressed) == ["no_address", "no_consent"]
    sent = [r for r in logged(tp, "custom") if r["name"] == "message_sent"]
    assert len(sent) == 1 and sent[0]["campaign"] == "sms_offer"
    with read_connection(tp.engine) as conn:
        assert store.next_due(conn) is None
