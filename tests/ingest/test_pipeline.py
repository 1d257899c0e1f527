"""The ingestion path on both engines: idempotency, identity resolution, merges, rejections."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, interactions, merges


def ingest(tp: Touchpoint, *items: dict):
    return tp.ingestor.ingest(enumerate(items))


def count(tp: Touchpoint, table) -> int:
    with read_connection(tp.engine) as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_same_event_sent_twice_is_stored_once(tp: Touchpoint) -> None:
    event = interaction(id="e-1", email="ann@example.com")
    first = ingest(tp, event)
    second = ingest(tp, event, event)
    assert (first.accepted, first.duplicates) == (1, 0)
    assert (second.accepted, second.duplicates) == (0, 2)
    assert count(tp, interactions) == 1


def test_event_without_id_gets_a_content_id_so_resending_is_safe(tp: Touchpoint) -> None:
    event = interaction(email="ann@example.com")
    del event["id"]
    ingest(tp, event)
    again = ingest(tp, dict(event))
    assert again.duplicates == 1
    assert count(tp, interactions) == 1


def test_emails_and_phones_are_normalised_to_one_customer(tp: Touchpoint) -> None:
    report = ingest(
        tp,
        interaction(email="Ann@Example.COM", phone="(415) 555-0134"),
        interaction(email="ann@example.com"),
        interaction(phone="+1 415 555 0134", type="call", channel="phone"),
    )
    assert report.accepted == 3
    assert len({r.customer_id for r in report.results}) == 1
    with read_connection(tp.engine) as conn:
        keys = set(conn.scalars(select(identities.c.key)))
    assert keys == {"email:ann@example.com", "phone:+14155550134"}


def test_event_tying_two_customers_merges_them_and_records_the_merge(tp: Touchpoint) -> None:
    first = ingest(tp, interaction(email="bob@example.com", at=0)).results[0].customer_id
    second = ingest(
        tp, interaction(phone="+14155550199", type="call", channel="phone", at=5)
    ).results[0]
    assert second.customer_id != first
    link = ingest(tp, interaction(email="bob@example.com", phone="+14155550199", at=10)).results[0]
    assert link.customer_id == first  # the older profile survives
    with read_connection(tp.engine) as conn:
        owners = set(conn.scalars(select(interactions.c.customer_id)))
        merged = conn.execute(
            select(merges.c.survivor_id, merges.c.merged_id, merges.c.moved_keys)
        ).all()
        loser = conn.execute(
            select(customers.c.merged_into).where(customers.c.id == second.customer_id)
        ).scalar()
    assert owners == {first}
    assert merged == [(first, second.customer_id, ["phone:+14155550199"])]
    assert loser == first


def test_merge_inside_one_batch_keeps_every_interaction(tp: Touchpoint) -> None:
    report = ingest(
        tp,
        interaction(anonymous_id="cookie-1", at=0),
        interaction(email="cy@example.com", at=1),
        interaction(anonymous_id="cookie-1", email="cy@example.com", type="signup", at=2),
    )
    assert report.accepted == 3
    assert len({r.customer_id for r in report.results}) == 1
    assert count(tp, interactions) == 3
    with read_connection(tp.engine) as conn:
        merged = conn.execute(
            select(merges.c.survivor_id, merges.c.merged_id, merges.c.moved_keys)
        ).all()
    survivor = report.results[0].customer_id  # the cookie's profile came first
    assert [(m[0], m[2]) for m in merged] == [(survivor, ["email:cy@example.com"])]
    assert merged[0][1] != survivor


def test_merge_record_lists_every_key_the_profile_gained_in_the_same_batch(
    tp: Touchpoint,
) -> None:
    old = ingest(tp, interaction(email="old@example.com", at=0)).results[0].customer_id
    ingest(
        tp,
        interaction(anonymous_id="c-1", at=1),
        interaction(anonymous_id="c-1", phone="+14155550111", at=2),  # c-1's profile gains a phone
        interaction(phone="+14155550111", email="new@example.com", at=3),
        interaction(email="new@example.com", external_id="u-9", at=4),
        interaction(external_id="u-9", email="old@example.com", at=5),  # ties it all to `old`
    )
    with read_connection(tp.engine) as conn:
        merged = conn.execute(select(merges.c.survivor_id, merges.c.moved_keys)).all()
    assert merged == [
        (
            old,
            ["anonymous_id:c-1", "email:new@example.com", "external_id:u-9", "phone:+14155550111"],
        )
    ]


def test_bad_items_are_rejected_with_field_and_reason_and_the_rest_land(tp: Touchpoint) -> None:
    good = interaction(email="dee@example.com")
    bad_channel = interaction(email="dee@example.com", channel="pigeon")
    naive_time = interaction(email="dee@example.com", at=3)
    naive_time["occurred_at"] = "2026-01-01T10:00:00"
    no_identity = interaction()
    no_identity["customer"] = {}
    bad_email = interaction(email="not-an-email")
    report = ingest(tp, good, bad_channel, naive_time, no_identity, bad_email)
    assert report.accepted == 1
    reasons = {r.position: r.reason for r in report.rejected}
    assert set(reasons) == {1, 2, 3, 4}
    assert reasons[1].startswith("channel:") and "'phone'" in reasons[1]
    assert reasons[2].startswith("occurred_at:") and "timezone" in reasons[2]
    assert "at least one identity" in reasons[3]
    assert "not a valid email" in reasons[4]
    assert count(tp, interactions) == 1


def test_traits_are_merged_into_the_profile(tp: Touchpoint) -> None:
    ingest(tp, interaction(email="eve@example.com", traits={"name": "Eve", "plan": "basic"}, at=0))
    ingest(tp, interaction(email="eve@example.com", traits={"plan": "pro"}, at=1))
    with read_connection(tp.engine) as conn:
        traits = conn.scalar(select(customers.c.traits))
    assert traits == {"name": "Eve", "plan": "pro"}


def test_a_late_event_does_not_overwrite_a_newer_trait(tp: Touchpoint) -> None:
    ingest(tp, interaction(email="fay@example.com", traits={"plan": "pro"}, at=100))
    # a back-filled older event arrives afterwards: its plan is history, its new trait is news
    ingest(tp, interaction(email="fay@example.com", traits={"plan": "basic", "city": "Oslo"}, at=5))
    with read_connection(tp.engine) as conn:
        traits = conn.scalar(select(customers.c.traits))
    assert traits == {"plan": "pro", "city": "Oslo"}
    ingest(tp, interaction(email="fay@example.com", traits={"plan": "team"}, at=200))
    with read_connection(tp.engine) as conn:
        assert conn.scalar(select(customers.c.traits)) == {"plan": "team", "city": "Oslo"}


def test_a_merge_keeps_each_traits_newest_value(tp: Touchpoint) -> None:
    old = ingest(tp, interaction(email="gus@example.com", traits={"plan": "basic"}, at=0))
    ingest(
        tp,
        interaction(
            phone="+14155550123", type="call", channel="phone", traits={"plan": "pro"}, at=50
        ),
    )
    ingest(tp, interaction(email="gus@example.com", traits={"name": "Gus"}, at=10))
    ingest(tp, interaction(email="gus@example.com", phone="+14155550123", at=60))  # merges them
    survivor = old.results[0].customer_id
    with read_connection(tp.engine) as conn:
        traits = conn.scalar(select(customers.c.traits).where(customers.c.id == survivor))
    assert traits == {"plan": "pro", "name": "Gus"}  # the merged-away profile's plan is newer


def test_concurrent_ingests_never_create_two_customers_for_one_identity(tp: Touchpoint) -> None:
    def send(worker: int) -> set[str]:
        items = [
            interaction(id=f"w{worker}-{i}", email=f"shared{i}@example.com") for i in range(40)
        ]
        return {r.customer_id for r in tp.ingestor.ingest(enumerate(items), batch_size=7).results}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(4)))
    with read_connection(tp.engine) as conn:
        per_key = conn.execute(
            select(identities.c.key, func.count())
            .group_by(identities.c.key)
            .having(func.count() > 1)
        ).all()
        live = conn.scalar(
            select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
        )
    assert per_key == []
    assert live == 40
    assert count(tp, interactions) == 160


def test_integers_too_big_to_store_are_refused_naming_where(tp: Touchpoint) -> None:
    huge = interaction(email="hal@example.com", properties={"ticket": {"refs": [1, 2**70]}})
    report = ingest(tp, huge, interaction(email="hal@example.com", traits={"n": -(2**63)}))
    assert report.accepted == 1
    (rejected,) = report.rejected
    assert rejected.position == 0
    assert "properties" in rejected.reason and "ticket.refs[1]" in rejected.reason
    assert "does not fit in 64 bits" in rejected.reason
