"""Merge protection, conflicts, and merging and unmerging by hand, through the ingestion path and
the identity service, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.builders import interaction
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import customers as customer_service
from touchpoint.services import identity
from touchpoint.store import lifecycle as stages
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, interactions, merges

ANN, BEA = "ann@example.com", "bea@example.com"


def ingest(tp: Touchpoint, *items: dict[str, Any]) -> list[str]:
    report = tp.ingestor.ingest(enumerate(items))
    assert not report.rejected, report.rejected
    return [r.customer_id for r in report.results]


def owner(tp: Touchpoint, key: str) -> str:
    with read_connection(tp.engine) as conn:
        return conn.scalar(select(identities.c.customer_id).where(identities.c.key == key))


def keys_of(tp: Touchpoint, customer_id: str) -> set[str]:
    with read_connection(tp.engine) as conn:
        query = select(identities.c.key).where(identities.c.customer_id == customer_id)
        return set(conn.scalars(query))


def events_of(tp: Touchpoint, customer_id: str) -> set[str]:
    with read_connection(tp.engine) as conn:
        query = select(interactions.c.id).where(interactions.c.customer_id == customer_id)
        return set(conn.scalars(query))


def profile(tp: Touchpoint, customer_id: str) -> tuple[dict[str, Any], str | None]:
    with read_connection(tp.engine) as conn:
        row = conn.execute(
            select(customers.c.traits, customers.c.merged_into).where(customers.c.id == customer_id)
        ).one()
    return row[0], row[1]


def moves(tp: Touchpoint, customer_id: str) -> list[tuple[str | None, str, str | None]]:
    with read_connection(tp.engine) as conn:
        return [
            (t["from_stage"], t["to_stage"], t["interaction_id"])
            for t in stages.history(conn, customer_id)
        ]


def stage(tp: Touchpoint, customer_id: str) -> str | None:
    with read_connection(tp.engine) as conn:
        return (stages.current_stage(conn, customer_id) or {}).get("stage")


def two_customers(tp: Touchpoint) -> tuple[str, str]:
    """ann browses and gives a plan; bea, created later, buys."""
    (ann,) = set(
        ingest(
            tp,
            interaction(id="a1", email=ANN, anonymous_id="ck-a", traits={"plan": "basic"}, at=0),
            interaction(id="a2", anonymous_id="ck-a", at=2),
        )
    )
    (bea,) = set(
        ingest(
            tp,
            interaction(id="b1", email=BEA, traits={"plan": "pro", "city": "Oslo"}, at=1),
            interaction(id="b2", type="purchase", email=BEA, revenue=40.0, at=3),
        )
    )
    return ann, bea


# --- merge protection ---------------------------------------------------------------------------


def test_a_shared_email_between_two_user_ids_is_a_conflict_not_a_merge(tp: Touchpoint) -> None:
    (mum,) = ingest(tp, interaction(id="m1", external_id="mum", email="home@example.com"))
    (son,) = ingest(tp, interaction(id="s1", external_id="son", email="home@example.com"))
    ingest(tp, interaction(id="s2", external_id="son", email="home@example.com", at=5))
    assert son != mum
    assert owner(tp, "email:home@example.com") == mum  # the contested key stays with its owner
    assert events_of(tp, son) == {"s1", "s2"}  # the events land on the son
    with read_connection(tp.engine) as conn:
        total, (conflict,) = identity.list_conflicts(conn)
    assert total == 1
    assert (conflict.customer_id, conflict.other_id, conflict.kind, conflict.value) == (
        son,
        mum,
        "email",
        "home@example.com",
    )
    assert (conflict.reason, conflict.interaction_id, conflict.events) == (
        "limit:external_id",
        "s1",
        2,
    )
    assert conflict.status == "open"


def test_an_email_alone_still_merges_an_anonymous_visitor(tp: Touchpoint) -> None:
    (visitor,) = ingest(tp, interaction(id="v1", anonymous_id="ck-1", email=ANN))
    (user,) = ingest(tp, interaction(id="u1", external_id="u-1", email=ANN))
    assert user == visitor
    with read_connection(tp.engine) as conn:
        assert identity.list_conflicts(conn) == (0, [])


def test_merge_limits_come_from_settings(settings: Any) -> None:
    from touchpoint.runtime import open_touchpoint

    tp = open_touchpoint(settings.model_copy(update={"merge_limits": {"external_id": 2}}))
    try:
        (mum,) = ingest(tp, interaction(external_id="mum", email="home@example.com"))
        (son,) = ingest(tp, interaction(external_id="son", email="home@example.com"))
        assert son == mum
    finally:
        tp.close()


def test_conflicts_by_status_and_dismissing_one(tp: Touchpoint) -> None:
    ingest(tp, interaction(id="m1", external_id="mum", email="home@example.com"))
    ingest(tp, interaction(id="s1", external_id="son", email="home@example.com"))
    with read_connection(tp.engine) as conn:
        (_, (conflict,)) = identity.list_conflicts(conn)
    dismissed = identity.dismiss_conflict(tp, conflict.id)
    assert dismissed.status == "dismissed"
    with read_connection(tp.engine) as conn:
        assert identity.list_conflicts(conn, status="open") == (0, [])
        assert identity.list_conflicts(conn, status="all")[0] == 1
        with pytest.raises(ValidationError, match="unknown status 'closed'; use one of open"):
            identity.list_conflicts(conn, status="closed")
    with pytest.raises(NotFound, match="no identity conflict 999"):
        identity.dismiss_conflict(tp, 999)


# --- merging by hand ---------------------------------------------------------------------------


def test_merge_by_hand_moves_everything_to_the_older_customer(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    record = identity.merge_customers(tp, bea, ann)  # the order given does not matter
    assert (record.survivor_id, record.merged_id, record.cause) == (ann, bea, "manual")
    assert (record.linking_key, record.interaction_id, record.undoable) == (None, None, True)
    assert record.moved_keys == (f"email:{BEA}",)
    assert keys_of(tp, ann) == {f"email:{ANN}", "anonymous_id:ck-a", f"email:{BEA}"}
    assert events_of(tp, ann) == {"a1", "a2", "b1", "b2"}
    # traits: each one's newest value (bea said plan later, at minute 1)
    assert profile(tp, ann) == ({"plan": "pro", "city": "Oslo"}, None)
    assert profile(tp, bea)[1] == ann
    # projections refolded: ann now bought; bea has no stage of her own
    assert moves(tp, ann) == [(None, "reach", "a1"), ("reach", "conversion", "b2")]
    assert stage(tp, bea) is None
    with read_connection(tp.engine) as conn:
        view = customer_service.customer_view(conn, bea)
        assert (view.id, view.requested_id) == (ann, bea)
        assert [m.customer_id for m in view.merged_from] == [bea]


def test_merging_a_customer_into_itself_is_refused(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    with pytest.raises(ValidationError, match=f"cannot merge customer {ann} into itself$"):
        identity.merge_customers(tp, ann, ann)
    identity.merge_customers(tp, ann, bea)
    with pytest.raises(ValidationError, match=f"into itself: both are {ann}"):
        identity.merge_customers(tp, bea, ann)
    with pytest.raises(NotFound, match="no customer 'cus_nobody'"):
        identity.merge_customers(tp, ann, "cus_nobody")


# --- unmerging -----------------------------------------------------------------------------------


def test_unmerge_restores_both_customers_as_they_were(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    before = {cid: (keys_of(tp, cid), events_of(tp, cid), profile(tp, cid)) for cid in (ann, bea)}
    stages_before = {cid: (stage(tp, cid), moves(tp, cid)) for cid in (ann, bea)}
    record = identity.merge_customers(tp, ann, bea)
    undone = identity.unmerge(tp, record.id)
    assert (undone.survivor_id, undone.restored_id) == (ann, bea)
    assert (undone.keys, undone.interactions) == ((f"email:{BEA}",), 2)
    after = {cid: (keys_of(tp, cid), events_of(tp, cid), profile(tp, cid)) for cid in (ann, bea)}
    assert after == before
    assert {cid: (stage(tp, cid), moves(tp, cid)) for cid in (ann, bea)} == stages_before
    assert stages_before[bea] == (
        "conversion",
        [(None, "reach", "b1"), ("reach", "conversion", "b2")],
    )
    with read_connection(tp.engine) as conn:
        view = customer_service.customer_view(conn, bea)
        assert (view.id, view.requested_id) == (bea, bea)  # answers with itself again
        assert customer_service.customer_view(conn, ann).merged_from == ()
        (merge,) = conn.execute(select(merges.c.undone_at)).all()
    assert merge[0] is not None


def test_unmerge_sends_later_interactions_back_by_the_keys_they_carried(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    record = identity.merge_customers(tp, ann, bea)
    # after the merge, both land on ann: one by bea's email (with a new phone), one by ann's cookie
    ingest(
        tp,
        interaction(id="b3", type="call", channel="phone", email=BEA, phone="+14155550177", at=9),
        interaction(id="b4", type="call", channel="phone", phone="+14155550177", at=10),
        interaction(id="a3", anonymous_id="ck-a", at=11),
    )
    assert events_of(tp, ann) == {"a1", "a2", "a3", "b1", "b2", "b3", "b4"}
    identity.unmerge(tp, record.id)
    assert events_of(tp, ann) == {"a1", "a2", "a3"}
    assert events_of(tp, bea) == {"b1", "b2", "b3", "b4"}
    assert keys_of(tp, bea) == {f"email:{BEA}", "phone:+14155550177"}  # the phone came with bea
    assert moves(tp, bea) == [  # a call after a purchase is a service contact: retention
        (None, "reach", "b1"),
        ("reach", "conversion", "b2"),
        ("conversion", "retention", "b3"),
    ]
    assert moves(tp, ann) == [(None, "reach", "a1")]


def test_unmerging_an_implicit_merge_keeps_the_two_apart_afterwards(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    ingest(tp, interaction(id="tie", email=ANN, phone="+14155550188", at=20))
    (joined,) = ingest(tp, interaction(id="tie2", email=BEA, phone="+14155550188", at=21))
    assert joined == ann  # the phone merged bea into ann
    with read_connection(tp.engine) as conn:
        _total, (record,) = identity.list_merges(conn, bea)
    assert (record.cause, record.linking_key, record.interaction_id) == (
        "identity",
        "phone:+14155550188",
        "tie2",
    )
    identity.unmerge(tp, record.id)
    assert events_of(tp, bea) == {"b1", "b2", "tie2"}  # tie2's strongest key: bea's email
    assert owner(tp, "phone:+14155550188") == ann  # ann had it before the merge
    (landed,) = ingest(tp, interaction(id="tie3", email=BEA, phone="+14155550188", at=22))
    assert landed == bea
    with read_connection(tp.engine) as conn:
        _total, (conflict,) = identity.list_conflicts(conn)
    assert (conflict.customer_id, conflict.other_id, conflict.reason) == (bea, ann, "unmerged")


def test_unmerge_after_the_survivor_merged_further(tp: Touchpoint) -> None:
    (dee,) = ingest(tp, interaction(id="d1", email="dee@example.com", at=30))  # the oldest
    ann, bea = two_customers(tp)
    first = identity.merge_customers(tp, ann, bea)
    second = identity.merge_customers(tp, ann, dee)
    assert (second.survivor_id, second.merged_id) == (dee, ann)
    identity.unmerge(tp, first.id)  # bea comes back out of dee, where her things are now
    assert events_of(tp, bea) == {"b1", "b2"}
    assert events_of(tp, dee) == {"d1", "a1", "a2"}
    assert profile(tp, bea)[1] is None
    undone = identity.unmerge(tp, second.id)
    assert undone.keys == ("anonymous_id:ck-a", f"email:{ANN}")  # bea's email is hers again
    assert events_of(tp, ann) == {"a1", "a2"} and events_of(tp, dee) == {"d1"}
    assert keys_of(tp, bea) == {f"email:{BEA}"}


def test_unmerge_brings_back_the_customers_merged_into_the_merged_one(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    (cy,) = ingest(tp, interaction(id="c1", email="cy@example.com", at=40))
    inner = identity.merge_customers(tp, bea, cy)  # cy into bea
    outer = identity.merge_customers(tp, ann, bea)  # bea (with cy) into ann
    assert profile(tp, cy)[1] == ann
    identity.unmerge(tp, outer.id)
    assert profile(tp, cy)[1] == bea  # cy answers with bea again
    assert events_of(tp, bea) == {"b1", "b2", "c1"}
    identity.unmerge(tp, inner.id)
    assert events_of(tp, cy) == {"c1"} and profile(tp, cy)[1] is None


def test_unmerging_unknown_or_undone_merges_is_refused(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    record = identity.merge_customers(tp, ann, bea)
    identity.unmerge(tp, record.id)
    with pytest.raises(Conflict, match=f"merge {record.id} was already undone"):
        identity.unmerge(tp, record.id)
    with pytest.raises(NotFound, match="no merge 12345"):
        identity.unmerge(tp, 12345)


def test_a_conflict_shows_merged_once_the_two_are_merged_by_hand_and_open_after_unmerge(
    tp: Touchpoint,
) -> None:
    (mum,) = ingest(tp, interaction(id="m1", external_id="mum", email="home@example.com"))
    (son,) = ingest(tp, interaction(id="s1", external_id="son", email="home@example.com"))
    record = identity.merge_customers(tp, son, mum)
    with read_connection(tp.engine) as conn:
        assert [c.status for c in identity.list_conflicts(conn, status="all")[1]] == ["merged"]
        assert identity.list_conflicts(conn)[0] == 0
    identity.unmerge(tp, record.id)
    with read_connection(tp.engine) as conn:
        (_, (conflict,)) = identity.list_conflicts(conn)
    assert (conflict.customer_id, conflict.other_id, conflict.status) == (son, mum, "open")
