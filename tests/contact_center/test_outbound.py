"""Outbound campaigns through the service, on SQLite and PostgreSQL: lists from abandoned carts
and a CSV, consent re-checked at dial time, do-not-call and the suppression list, attempts and
retry spacing, progressive pacing, and each call's outcome in the log once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.contact_center.center import CONFIG
from touchpoint.errors import Conflict, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import outbound as service
from touchpoint.services.contact_center import agent_state, apply_config
from touchpoint.services.privacy import erase, export
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions

NOW = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York
ANN, BEN, CAL = "+12125550101", "+12125550102", "+12125550103"
# an agent whose call ended at NOW is in the sales queue's wrap-up (30 s) until then
AFTER_WRAPUP = NOW + timedelta(seconds=30)


def log(tp: Touchpoint, items: list[dict[str, Any]]) -> None:
    report = tp.ingestor.ingest(list(enumerate(items)))
    assert {r.status for r in report.results} == {"accepted"}, report.results


def event(kind: str, phone: str, at: datetime, **fields: Any) -> dict[str, Any]:
    log_id = f"{kind}-{phone}-{at.timestamp()}"
    channel = fields.pop("channel", "phone" if kind.startswith("consent") else "web")
    return {
        "id": log_id,
        "type": kind,
        "channel": channel,
        "occurred_at": at.isoformat(),
        "customer": {"phone": phone},
        **fields,
    }


def granted(tp: Touchpoint, *phones: str, at: datetime = NOW - timedelta(days=10)) -> None:
    log(tp, [event("consent_granted", p, at) for p in phones])


@pytest.fixture
def center(tp: Touchpoint) -> Touchpoint:
    apply_config(tp, text=CONFIG, actor="test")
    return tp


def ready(tp: Touchpoint, *agents: str) -> None:
    for agent in agents:
        agent_state(tp, agent, "login")
        agent_state(tp, agent, "ready")


def csv_campaign(
    tp: Touchpoint, *phones: str, name: str = "spring", at: datetime = NOW, **settings: Any
) -> str:
    text = "phone,name\n" + "".join(f"{p},Person {i}\n" for i, p in enumerate(phones))
    created = service.create_campaign(
        tp, name=name, queue="sales", settings=settings, csv_text=text, actor="test", now=at
    )
    return created.campaign.id


def calls_in_log(tp: Touchpoint) -> list[Any]:
    with read_connection(tp.engine) as conn:
        query = select(interactions).where(interactions.c.id.like("ob-%"))
        return list(conn.execute(query).mappings())


def test_a_cart_list_takes_carts_of_the_last_day_not_followed_by_a_purchase(
    center: Touchpoint,
) -> None:
    tp = center
    log(
        tp,
        [
            event("cart_abandoned", ANN, NOW - timedelta(hours=2)),
            event("cart_abandoned", BEN, NOW - timedelta(hours=3)),
            event("purchase", BEN, NOW - timedelta(hours=1), revenue=20.0),
            event("cart_abandoned", CAL, NOW - timedelta(hours=30)),
        ],
    )
    created = service.create_campaign(
        tp,
        name="carts",
        queue="sales",
        settings={},
        source={"kind": "abandoned_carts"},
        actor="test",
        now=NOW,
    )
    detail = service.campaign(tp, "carts")
    assert created.added == 1 and [r.phone for r in detail.records] == [ANN]
    assert detail.campaign.records == {"open": 1}


def test_a_csv_list_skips_bad_lines_naming_them(center: Touchpoint) -> None:
    text = "phone,name\n+12125550101,Ann\nnot a number,Bo\n\n,Cy\n(212) 555-0101,Ann again\n"
    created = service.create_campaign(
        center, name="csv", queue="sales", settings={}, csv_text=text, actor="t", now=NOW
    )
    assert created.added == 1  # the fourth line is Ann's number again
    assert [(s.line, s.reason.split(":")[0]) for s in created.skipped] == [
        (3, "phone"),
        (5, "phone"),  # line 4 is blank
    ]
    with pytest.raises(ValidationError, match="NUL"):
        service.create_campaign(
            center, name="z", queue="sales", settings={}, csv_text="phone\n\x00\n", actor="t"
        )
    with pytest.raises(ValidationError, match="header needs a phone column"):
        service.create_campaign(
            center, name="x", queue="sales", settings={}, csv_text="tel\n1\n", actor="t"
        )
    with pytest.raises(ValidationError, match="^settings.pacing"):
        service.create_campaign(
            center, name="y", queue="sales", settings={"pacing": "fast"}, csv_text=text, actor="t"
        )


def test_consent_withdrawn_after_the_list_was_built_is_not_dialled(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN, BEN)
    campaign = csv_campaign(tp, ANN, BEN, CAL)
    log(tp, [event("consent_withdrawn", ANN, NOW - timedelta(hours=1))])
    ready(tp, "ana")
    first = service.next_calls(tp, campaign, agent="ana", now=NOW)
    # Ann withdrew after the list was built; Ben granted; Cal never said (opt-in by default).
    assert [(r.phone, r.reason) for r in first.refused] == [(ANN, "no_consent")]
    assert [c.phone for c in first.calls] == [BEN]
    service.record_outcome(tp, first.calls[0].attempt_id, disposition="NI", agent="ana", now=NOW)
    second = service.next_calls(tp, campaign, agent="ana", now=AFTER_WRAPUP)
    assert [(r.phone, r.reason) for r in second.refused] == [(CAL, "no_consent")]
    assert second.calls == []
    view = service.campaign(tp, campaign).campaign
    assert view.records == {"no_consent": 2, "not_interested": 1}
    assert view.attempts == {"refused:no_consent": 2, "ended": 1}


def test_a_dnc_disposition_keeps_the_number_out_of_every_campaign(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    first = csv_campaign(tp, ANN, name="one")
    ready(tp, "ana")
    call = service.next_calls(tp, first, agent="ana", now=NOW).calls[0]
    service.record_outcome(tp, call.attempt_id, disposition="DNC", agent="ana", now=NOW)
    second = csv_campaign(tp, ANN, name="two")
    handed = service.next_calls(tp, second, agent="ana", now=AFTER_WRAPUP)
    assert (handed.calls, [r.reason for r in handed.refused]) == ([], ["do_not_call"])


def test_an_erased_person_leaves_the_lists_and_their_number_is_suppressed(
    center: Touchpoint,
) -> None:
    tp = center
    granted(tp, ANN, BEN)
    campaign = csv_campaign(tp, ANN, BEN, consent="opt_out")
    ready(tp, "ana")
    call = service.next_calls(tp, campaign, agent="ana", now=NOW).calls[0]
    assert call.phone == ANN
    service.record_outcome(tp, call.attempt_id, disposition="DNC", agent="ana", now=NOW)
    with read_connection(tp.engine) as conn:
        ann = conn.scalar(
            select(interactions.c.customer_id).where(interactions.c.id.like("%0101%"))
        )
    exported = export(tp, ann, actor="test")["outbound"]
    assert [(r["phone"], r["last_disposition"]) for r in exported] == [(ANN, "DNC")]
    assert [a["disposition"] for a in exported[0]["attempts_made"]] == ["DNC"]
    erase(tp, ann, actor="test")
    assert [r.phone for r in service.campaign(tp, campaign).records] == [BEN]
    # A new list naming the erased number again: refused, as suppressed, never dialled.
    again = csv_campaign(tp, ANN, BEN, name="again", consent="opt_out")
    handed = service.next_calls(tp, again, agent="ana", now=AFTER_WRAPUP)
    assert [(r.phone, r.reason) for r in handed.refused] == [(ANN, "suppressed")]
    assert [c.phone for c in handed.calls] == [BEN]


def test_attempts_and_spacing_per_outcome(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    retry = {"no_answer": {"max_attempts": 2, "spacing_s": 3600}}
    campaign = csv_campaign(tp, ANN, retry=retry)
    ready(tp, "ana")

    def dial(at: datetime) -> list[str]:
        handed = service.next_calls(tp, campaign, agent="ana", now=at)
        assert handed.refused == []
        return [c.attempt_id for c in handed.calls]

    (first,) = dial(NOW)
    service.record_outcome(tp, first, disposition="N", agent="ana", now=NOW)
    assert dial(NOW + timedelta(minutes=59)) == []  # not due for an hour
    (second,) = dial(NOW + timedelta(minutes=61))
    service.record_outcome(tp, second, disposition="NA", agent="ana", now=NOW + timedelta(hours=1))
    assert dial(NOW + timedelta(hours=5)) == []  # two attempts: closed
    (record,) = service.campaign(tp, campaign).records
    assert (record.attempts, record.closed_reason, record.last_disposition) == (
        2,
        "max_attempts",
        "NA",
    )


def test_a_callback_is_dialled_at_the_time_asked(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    campaign = csv_campaign(tp, ANN)
    ready(tp, "ana")
    call = service.next_calls(tp, campaign, agent="ana", now=NOW).calls[0]
    asked = NOW + timedelta(hours=3)
    done = service.record_outcome(
        tp, call.attempt_id, disposition="CALLBK", agent="ana", callback_at=asked, now=NOW
    )
    assert done.retry_at == asked
    assert (
        service.next_calls(tp, campaign, agent="ana", now=asked - timedelta(minutes=1)).calls == []
    )
    assert len(service.next_calls(tp, campaign, agent="ana", now=asked).calls) == 1


def test_outside_the_callee_s_hours_the_record_waits_for_them(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    early = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York
    campaign = csv_campaign(tp, ANN, at=early)
    ready(tp, "ana")
    handed = service.next_calls(tp, campaign, agent="ana", now=early)
    assert [(r.reason, r.retry_at) for r in handed.refused] == [
        ("outside_window", datetime(2026, 6, 1, 13, 0, tzinfo=UTC))
    ]
    at_nine = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert [c.phone for c in service.next_calls(tp, campaign, agent="ana", now=at_nine).calls] == [
        ANN
    ]


def test_progressive_dials_one_line_per_free_agent(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN, BEN, CAL)
    campaign = csv_campaign(tp, ANN, BEN, CAL, pacing="progressive")
    ready(tp, "ana", "bo")
    first = service.next_calls(tp, campaign, now=NOW)
    assert (first.free_agents, len(first.calls)) == (2, 2)
    assert service.next_calls(tp, campaign, now=NOW).calls == []  # both lines still ringing
    service.record_outcome(tp, first.calls[0].attempt_id, disposition="NA", now=NOW)
    assert [c.phone for c in service.next_calls(tp, campaign, now=NOW).calls] == [CAL]
    with pytest.raises(ValidationError, match="^agent: who spoke"):
        service.record_outcome(tp, first.calls[1].attempt_id, disposition="SALE", now=NOW)


def test_an_outcome_lands_in_the_log_once(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    campaign = csv_campaign(tp, ANN, name="win back")
    ready(tp, "ana")
    call = service.next_calls(tp, campaign, agent="ana", now=NOW).calls[0]
    done = service.record_outcome(
        tp, call.attempt_id, disposition="SALE", agent="ana", duration_s=184.5, now=NOW
    )
    again = service.record_outcome(
        tp, call.attempt_id, disposition="sale", agent="ana", duration_s=184.5, now=NOW
    )
    assert (done.repeated, again.repeated, again.closed_reason) == (False, True, "sale")
    (row,) = calls_in_log(tp)
    assert (row["id"], row["type"], row["channel"], row["direction"]) == (
        f"ob-{call.attempt_id}",
        "call",
        "phone",
        "outbound",
    )
    assert (row["agent"], row["campaign"], row["outcome"], row["duration_s"]) == (
        "ana",
        "win back",
        "sale",
        184.5,
    )
    assert row["properties"]["disposition"] == "SALE"
    with pytest.raises(Conflict, match="ended already as SALE"):
        service.record_outcome(tp, call.attempt_id, disposition="NI", agent="ana", now=NOW)


def test_a_paused_campaign_hands_nothing_out(center: Touchpoint) -> None:
    tp = center
    granted(tp, ANN)
    campaign = csv_campaign(tp, ANN)
    ready(tp, "ana")
    assert service.set_status(tp, campaign, "paused").status == "paused"
    with pytest.raises(Conflict, match="paused"):
        service.next_calls(tp, campaign, agent="ana", now=NOW)
    service.set_status(tp, campaign, "active")
    assert len(service.next_calls(tp, campaign, agent="ana", now=NOW).calls) == 1
    with pytest.raises(Conflict, match="still on attempt"):
        service.next_calls(tp, campaign, agent="ana", now=NOW)


def test_a_list_of_customers_by_id_takes_their_phone_and_skips_those_without(
    center: Touchpoint,
) -> None:
    tp = center
    log(
        tp,
        [
            event("page_view", ANN, NOW),
            {**event("page_view", BEN, NOW), "customer": {"email": "b@example.com"}},
        ],
    )
    with read_connection(tp.engine) as conn:
        ids = list(conn.scalars(select(interactions.c.customer_id).order_by(interactions.c.seq)))
    created = service.create_campaign(
        tp,
        name="by id",
        queue="sales",
        settings={},
        source={"kind": "customers", "customer_ids": [*ids, "cus_nobody"]},
        actor="test",
        now=NOW,
    )
    assert created.added == 1
    assert [(s.line, s.reason) for s in created.skipped] == [(2, f"{ids[1]}: no phone number")]
    with pytest.raises(ValidationError, match=r"^source.stage"):
        service.create_campaign(
            tp, name="s", queue="sales", settings={}, source={"kind": "stage"}, actor="t"
        )
