"""The columnar copy follows unmerges by hand: after merge, refresh, unmerge, refresh, the copy
gives each customer back their own interactions, profile and monthly activity, as the system of
record holds them and as a copy built from scratch does (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.analytics.test_columnar import linked_months
from tests.builders import interaction
from touchpoint.analytics import columnar
from touchpoint.analytics.clv import customer_clv
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources, system_engine
from touchpoint.runtime import Touchpoint
from touchpoint.services import identity
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, interactions, stage_transitions

ANN, BEA = "ann@example.com", "bea@example.com"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
JAN, FEB, MAR, APR = (2026 * 12 + month - 1 for month in (1, 2, 3, 4))  # common.period_index
RFM = ["frequency", "recency", "T", "monetary_value", "historical_clv"]


def at(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, 12, tzinfo=UTC)


def moment(month: int, dom: int) -> datetime:
    """As the copy and the month arithmetic hold it: naive UTC."""
    return at(month, dom).replace(tzinfo=None)


def ingest(tp: Touchpoint, *items: dict[str, Any]) -> set[str]:
    report = tp.ingestor.ingest(enumerate(items))
    assert not report.rejected, report.rejected
    return {r.customer_id for r in report.results}


def two_customers(tp: Touchpoint) -> tuple[str, str]:
    """ann (older): January and March; bea: February, one outbound email (not activity)."""
    (ann,) = ingest(
        tp,
        interaction(id="a1", email=ANN, at=at(1, 5), traits={"segment": "vip", "country": "US"}),
        interaction(id="a2", type="purchase", email=ANN, at=at(1, 20), revenue=50.0),
        interaction(id="a3", email=ANN, at=at(3, 10)),
    )
    (bea,) = ingest(
        tp,
        interaction(id="b1", email=BEA, at=at(2, 2), traits={"country": "NO"}),
        interaction(id="b2", type="purchase", email=BEA, at=at(2, 14), revenue=30.0),
        interaction(
            id="b3",
            type="email_sent",
            channel="email",
            direction="outbound",
            email=BEA,
            at=at(2, 20),
        ),
    )
    return ann, bea


def sor_state(tp: Touchpoint) -> dict[str, Any]:
    """The system of record, queried directly: interactions per customer, live customers' segment
    and country, transitions, and monthly activity computed here from the inbound rows."""
    with read_connection(tp.engine) as conn:
        counts = dict(
            conn.execute(
                select(interactions.c.customer_id, func.count()).group_by(
                    interactions.c.customer_id
                )
            ).all()
        )
        live = conn.execute(
            select(customers.c.id, customers.c.traits).where(customers.c.merged_into.is_(None))
        ).all()
        moves = set(
            conn.execute(
                select(
                    stage_transitions.c.customer_id,
                    stage_transitions.c.from_stage,
                    stage_transitions.c.to_stage,
                    stage_transitions.c.seq,
                )
            ).all()
        )
        inbound = conn.execute(
            select(interactions.c.customer_id, interactions.c.occurred_at).where(
                interactions.c.direction == "inbound"
            )
        ).all()
    people = {}
    for cid, traits in live:
        traits = traits or {}
        country = traits.get("country") or "unknown"
        people[cid] = (traits.get("segment") or country, country)
    first: dict[tuple[str, int], datetime] = {}
    for cid, when in inbound:
        when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
        month = (cid, when.year * 12 + when.month - 1)
        first[month] = min(first.get(month, when), when)
    return {
        "counts": counts,
        "customers": people,
        "moves": moves,
        "activity": linked_months(first),
    }


def copy_state(settings: Settings) -> dict[str, Any]:
    """The same read from the copy, its integer keys turned back into ids."""
    con = columnar.connect_copy(columnar.copy_path(settings), read_only=True)
    key = "JOIN customer_keys k ON k.key = t.customer_id"
    try:
        counts = dict(
            con.execute(f"SELECT k.id, count(*) FROM interactions t {key} GROUP BY k.id").fetchall()
        )
        people = {
            cid: (segment, country)
            for cid, segment, country in con.execute(
                "SELECT k.id, segment, country FROM customers c "
                "JOIN customer_keys k ON k.key = c.id"
            ).fetchall()
        }
        moves = set(
            con.execute(
                f"SELECT k.id, from_stage, to_stage, seq FROM transitions t {key}"
            ).fetchall()
        )
        activity = {
            (cid, p): tuple(rest)
            for cid, p, *rest in con.execute(
                "SELECT k.id, p, first_at, prev_p, next_p, next_first_at "
                f"FROM monthly_activity t {key}"
            ).fetchall()
        }
    finally:
        con.close()
    return {"counts": counts, "customers": people, "moves": moves, "activity": activity}


def clv_per_customer(settings: Settings, engine: str) -> dict[str, tuple[Any, ...]]:
    """CLV's per-customer table (RFM and historical CLV) on `engine`, by customer id."""
    request = make_request(report_spec("clv"), at=NOW)
    with open_sources(settings, engine, refresh=False) as sources:
        frame, _notes = customer_clv(sources, request)
    return {str(cid): tuple(float(row[c]) for c in RFM) for cid, row in frame.iterrows()}


def test_refresh_after_an_unmerge_gives_each_customer_back_their_own(tp: Touchpoint) -> None:
    ann, bea = two_customers(tp)
    columnar.refresh(tp.settings)
    record = identity.merge_customers(tp, ann, bea)
    assert (record.survivor_id, record.merged_id) == (ann, bea)
    columnar.refresh(tp.settings)
    assert copy_state(tp.settings)["counts"] == {ann: 6}
    # After the merge both land on ann; b4 carries bea's email, so the unmerge sends it back.
    ingest(
        tp,
        interaction(id="b4", type="purchase", email=BEA, at=at(4, 3), revenue=25.0),
        interaction(id="a4", email=ANN, at=at(4, 15)),
    )
    columnar.refresh(tp.settings)
    assert copy_state(tp.settings)["counts"] == {ann: 8}
    identity.unmerge(tp, record.id)
    stats = columnar.refresh(tp.settings)

    copied = copy_state(tp.settings)
    assert copied == sor_state(tp)
    assert (stats.interactions, stats.unmerges) == (0, 1)
    # By hand: a1-a4 are ann's and b1-b4 bea's; bea is live again with her own country, and
    # ann's country is hers again (bea's, said later, won while they were one).
    assert copied["counts"] == {ann: 4, bea: 4}
    assert copied["customers"] == {ann: ("vip", "US"), bea: ("NO", "NO")}
    assert copied["activity"] == {
        (ann, JAN): (moment(1, 5), None, MAR, moment(3, 10)),
        (ann, MAR): (moment(3, 10), JAN, APR, moment(4, 15)),
        (ann, APR): (moment(4, 15), MAR, None, None),
        (bea, FEB): (moment(2, 2), None, APR, moment(4, 3)),
        (bea, APR): (moment(4, 3), FEB, None, None),
    }
    clv = clv_per_customer(tp.settings, "duckdb")
    # ann bought once (Jan 20, 50); bea on Feb 14 (30) and Apr 3 (25): one repeat 48 days
    # later; T counts days from the first purchase to May 31, the last day before NOW.
    assert clv == {ann: (0.0, 0.0, 131.0, 0.0, 50.0), bea: (1.0, 48.0, 106.0, 25.0, 55.0)}
    assert clv == clv_per_customer(tp.settings, system_engine(tp.settings))

    columnar.copy_path(tp.settings).unlink()  # a copy built from scratch gives the same
    columnar.refresh(tp.settings)
    assert copy_state(tp.settings) == copied
    assert clv_per_customer(tp.settings, "duckdb") == clv


def test_a_copy_made_while_merged_follows_an_unmerge_of_a_chain(tp: Touchpoint) -> None:
    """cy merged into bea, bea (with cy) into ann, copied; undoing the outer merge brings bea
    back with cy's interactions, and cy points at bea again (not a live customer)."""
    ann, bea = two_customers(tp)
    (cy,) = ingest(tp, interaction(id="c1", email="cy@example.com", at=at(3, 1)))
    identity.merge_customers(tp, bea, cy)
    outer = identity.merge_customers(tp, ann, bea)
    columnar.refresh(tp.settings)
    assert copy_state(tp.settings)["counts"] == {ann: 7}
    identity.unmerge(tp, outer.id)
    columnar.refresh(tp.settings)
    copied = copy_state(tp.settings)
    assert copied == sor_state(tp)
    assert copied["counts"] == {ann: 3, bea: 4}
    assert set(copied["customers"]) == {ann, bea}
    assert copied["activity"][(bea, MAR)] == (moment(3, 1), FEB, None, None)


def test_an_unmerged_customer_merged_again_before_the_refresh(tp: Touchpoint) -> None:
    """Unmerged from ann, then merged into dee (older) before the next refresh: bea's rows,
    copied under ann, end under dee, where the system of record has them now."""
    (dee,) = ingest(tp, interaction(id="d1", email="dee@example.com", at=at(1, 2)))
    ann, bea = two_customers(tp)
    record = identity.merge_customers(tp, ann, bea)
    columnar.refresh(tp.settings)
    identity.unmerge(tp, record.id)
    again = identity.merge_customers(tp, bea, dee)
    assert (again.survivor_id, again.merged_id) == (dee, bea)
    columnar.refresh(tp.settings)
    copied = copy_state(tp.settings)
    assert copied == sor_state(tp)
    assert copied["counts"] == {ann: 3, dee: 4}
    assert copied["customers"] == {ann: ("vip", "US"), dee: ("NO", "NO")}
