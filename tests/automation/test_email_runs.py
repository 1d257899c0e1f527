"""Playbooks end to end against a real SMTP server on loopback: a cart abandoned sends one mail
after the wait (with RFC 8058 unsubscribe headers and a plain-text part), a purchase in the wait
cancels it, no consent or an unsubscribe suppresses it with its reason, and a worker that dies
holding a claimed step leaves the mail to arrive once, after its lease."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.automation.conftest import Inbox
from tests.builders import T0, interaction
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import consent, playbooks
from touchpoint.services.scheduler import run_once
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import interactions

ANN = "ann@example.com"
HOUR = timedelta(hours=1)
QUICK = """
name = "quick_cart"
title = "Cart reminder without a condition"
[trigger]
interaction = "cart_abandoned"
[[steps]]
wait = "1h"
[[steps]]
send_email = { template = "abandoned_cart", subject = "Still thinking, {{ customer.traits.name }}?" }
"""


def record(tp: Touchpoint, *items: dict[str, Any]) -> None:
    report = tp.ingestor.ingest(list(enumerate(items)))
    assert [r.status for r in report.results] == ["accepted"] * len(items)


def granted(minutes: int = -60) -> dict[str, Any]:
    return interaction(type="consent_granted", channel="email", email=ANN, at=minutes)


def cart(minutes: int = 0) -> dict[str, Any]:
    return interaction(
        type="cart_abandoned",
        channel="web",
        email=ANN,
        at=minutes,
        traits={"name": "Ann"},
        properties={"cart_value": 42.5, "skus": ["SKU-1", "SKU-2"]},
    )


def enable_cart_playbook(tp: Touchpoint) -> None:
    playbooks.set_state(tp, "abandoned_cart", playbooks.ACTIVE, actor="test")


def logged(tp: Touchpoint, type_: str) -> list[dict[str, Any]]:
    query = select(interactions.c.type, interactions.c.name, interactions.c.properties)
    query = query.add_columns(interactions.c.campaign, interactions.c.direction)
    with read_connection(tp.engine) as conn:
        rows = conn.execute(query.where(interactions.c.type == type_)).mappings()
        return [dict(r) for r in rows]


def test_a_cart_abandoned_sends_one_mail_after_the_wait(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    enable_cart_playbook(mtp)
    record(mtp, granted(), cart())
    run_once(mtp, T0 + timedelta(minutes=30))
    assert box.messages == []  # the hour has not passed
    run_once(mtp, T0 + timedelta(minutes=61))
    run_once(mtp, T0 + 2 * HOUR)  # and again: nothing more
    (mail,) = box.messages
    assert mail["To"] == ANN and mail["From"] == "shop@example.com"
    assert mail["Subject"] == "You left something in your cart"
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://crm.example.com/v1/unsubscribe/")
    assert ", <mailto:shop@example.com?subject=unsubscribe%20" in unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None and "SKU-1, SKU-2" in text.get_content()
    assert "42.50" in text.get_content()
    assert mail.get_body(preferencelist=("html",)) is not None  # the playbook asks for HTML too
    (sent,) = logged(mtp, "email_sent")
    assert sent["campaign"] == "abandoned_cart" and sent["direction"] == "outbound"
    assert sent["properties"]["message_id"] == mail["Message-ID"]


def test_a_purchase_during_the_wait_cancels_the_mail(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    enable_cart_playbook(mtp)
    record(mtp, granted(), cart())
    run_once(mtp, T0 + timedelta(minutes=10))
    record(mtp, interaction(type="purchase", channel="web", email=ANN, at=20, revenue=42.5))
    run_once(mtp, T0 + 2 * HOUR)
    assert box.messages == []
    (run,) = playbooks.list_runs(mtp, playbook="abandoned_cart")
    assert run.status == "stopped" and run.reason == "a purchase came after the trigger"
    assert logged(mtp, "email_sent") == []


def test_without_consent_the_mail_is_suppressed_with_its_reason(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    enable_cart_playbook(mtp)
    record(mtp, cart())  # the playbook is opt_in, and Ann never granted consent
    run_once(mtp, T0 + 2 * HOUR)
    assert box.messages == []
    (suppressed,) = logged(mtp, "custom")
    assert suppressed["name"] == "message_suppressed"
    assert suppressed["properties"]["reason"] == "no_consent"
    assert suppressed["properties"]["playbook"] == "abandoned_cart"


def test_after_an_unsubscribe_the_mail_is_suppressed(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    enable_cart_playbook(mtp)
    unsubscribed = interaction(type="unsubscribe", channel="email", email=ANN, at=-30)
    record(mtp, granted(), unsubscribed, cart())
    run_once(mtp, T0 + 2 * HOUR)
    assert box.messages == []
    (suppressed,) = logged(mtp, "custom")
    assert suppressed["properties"]["reason"] == "unsubscribed"


def test_a_transactional_mail_goes_without_marketing_consent(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    folder = mtp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "receipt.toml").write_text(
        QUICK.replace("quick_cart", "receipt").replace(
            'subject = "Still', 'transactional = true, subject = "Still'
        )
    )
    record(mtp, interaction(type="unsubscribe", channel="email", email=ANN, at=-30), cart())
    run_once(mtp, T0 + 2 * HOUR)
    (mail,) = box.messages
    assert mail["Subject"] == "Still thinking, Ann?"
    assert mail["List-Unsubscribe"] is None  # not marketing: no unsubscribe headers


def test_the_one_click_post_unsubscribes_and_a_get_does_not(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    enable_cart_playbook(mtp)
    record(mtp, granted(), cart())
    run_once(mtp, T0 + 2 * HOUR)
    (mail,) = box.messages
    url = mail["List-Unsubscribe"].split(",")[0].strip("<> ")
    path = url.removeprefix("https://crm.example.com")
    customer_id = playbooks.list_runs(mtp)[0].customer_id
    with TestClient(create_app(mtp)) as client:
        page = client.get(path)
        assert page.status_code == 200 and "<form" in page.text and 'method="post"' in page.text
        with read_connection(mtp.engine) as conn:
            assert [c.status for c in consent.in_force(conn, customer_id)] == ["granted"]
        first = client.post(path, data={"List-Unsubscribe": "One-Click"})
        again = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert (first.status_code, again.status_code) == (200, 200)
        assert client.post(path[:-3] + "xyz").status_code == 404  # a damaged link
    with read_connection(mtp.engine) as conn:
        assert [c.status for c in consent.in_force(conn, customer_id)] == ["withdrawn"]
    assert len(logged(mtp, "unsubscribe")) == 1
    # A second cart a week later (the playbook lets Ann in again): suppressed now.
    record(mtp, cart(minutes=8 * 24 * 60))
    run_once(mtp, T0 + timedelta(days=8, hours=2))
    assert len(box.messages) == 1
    assert [s["properties"]["reason"] for s in logged(mtp, "custom")] == ["unsubscribed"]


def test_a_worker_killed_holding_a_claim_leaves_the_mail_to_arrive_once(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    folder = mtp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "quick_cart.toml").write_text(QUICK)
    record(mtp, granted(), cart())
    run_once(mtp, T0 + timedelta(minutes=30))  # the wait is done; the send is due at T0 + 1 h
    killed_at = T0 + timedelta(minutes=61)
    lease = timedelta(seconds=mtp.settings.automation_lease_seconds)
    with write_transaction(mtp.engine) as conn:  # a worker claims the send, then dies
        (claimed,) = store.claim_due(conn, killed_at, lease, 10, ["quick_cart"])
    assert claimed["kind"] == "send_email" and claimed["attempts"] == 1
    run_once(mtp, killed_at + timedelta(minutes=1))  # its lease holds: nobody else sends
    assert box.messages == []
    run_once(mtp, killed_at + lease + timedelta(seconds=1))  # the lease passed: sent, once
    run_once(mtp, killed_at + 2 * lease)
    assert len(box.messages) == 1
    (run,) = playbooks.list_runs(mtp, playbook="quick_cart")
    assert run.status == "done"
    assert [(s.kind, s.status, s.attempts) for s in run.steps] == [
        ("wait", "done", 1),
        ("send_email", "done", 2),
    ]
    assert len(logged(mtp, "email_sent")) == 1


def test_a_late_finish_by_a_worker_whose_lease_passed_is_refused(mtp: Touchpoint) -> None:
    folder = mtp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "quick_cart.toml").write_text(QUICK)
    record(mtp, cart())
    lease = timedelta(minutes=5)
    playbooks.run(mtp, T0)  # the run starts, and its wait: the send is due at T0 + 1 h
    with write_transaction(mtp.engine) as conn:
        (first,) = store.claim_due(conn, T0 + HOUR, lease, 10, ["quick_cart"])
        (second,) = store.claim_due(conn, T0 + HOUR + lease * 2, lease, 10, ["quick_cart"])
        assert (first["seq"], first["attempts"], second["attempts"]) == (second["seq"], 1, 2)
        done = {"status": "done", "outcome": {}, "log_item": None, "now": T0 + HOUR}
        assert not store.finish_step(conn, first["seq"], 1, **done)  # the first lost its claim
        assert store.finish_step(conn, second["seq"], 2, **done)
