"""Membership as a projection on SQLite and PostgreSQL: kept current on ingest (merges, late
events), windows rolling with time (and only at their edges), stage moves by time, each entry and
exit recorded once with a stable key, the `segments` event stream, and a replay changing
nothing after any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.projections.events import Consumer, read_events
from touchpoint.runtime import Touchpoint
from touchpoint.services import segments as service
from touchpoint.services.identity import merge_customers
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import segment_changes

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class Wall:
    """The projection's wall clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def wall(tp: Touchpoint) -> Wall:
    clock = Wall(START)
    tp.projections.get("segments").clock = clock  # type: ignore[attr-defined]
    return clock


def event(n: int, who: str, type_: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"seg-{n}",
        "type": type_,
        "channel": extra.pop("channel", "web"),
        "occurred_at": at.isoformat(),
        "customer": {"email": f"{who}@example.com", **extra.pop("customer", {})},
        **extra,
    }


def ingest(tp: Touchpoint, *items: dict[str, Any]) -> None:
    report = tp.ingestor.ingest(enumerate(items))
    assert not report.rejected, report.rejected


def names(tp: Touchpoint, segment: str) -> set[str]:
    """The members' emails."""
    page = service.members(tp, segment, limit=500, contact_details=True)
    return {m.email.split("@")[0] for m in page.items if m.email}


def history(tp: Touchpoint) -> list[tuple[str, str, int]]:
    with read_connection(tp.engine) as conn:
        rows = conn.execute(
            select(
                segment_changes.c.customer_id, segment_changes.c.kind, segment_changes.c.ordinal
            ).order_by(segment_changes.c.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_ingest_enters_and_a_rolling_window_leaves_at_its_edge(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="buyers", rule="purchased >= 2 times in last 30 days")
    ingest(
        tp,
        event(1, "ann", "purchase", START - 20 * DAY),
        event(2, "ann", "purchase", START - 5 * DAY),
        event(3, "bob", "purchase", START - 1 * DAY),
    )
    assert names(tp, "buyers") == {"ann"}
    view = service.get_segment(tp, "buyers")
    # ann's older purchase leaves the 30-day window at START + 10 days: the edge
    assert view.next_due == START - 20 * DAY + 30 * DAY
    wall.now = START + 9 * DAY
    tp.projections.tick(wall.now)
    assert names(tp, "buyers") == {"ann"}
    wall.now = START + 10 * DAY + timedelta(seconds=1)
    tp.projections.tick(wall.now)
    assert names(tp, "buyers") == set()
    assert [(k, o) for _, k, o in history(tp)] == [(store.ENTERED, 1), (store.LEFT, 1)]
    # bob buys again: in for a second time? No: his first purchase is in the window, so one more
    ingest(tp, event(4, "bob", "purchase", wall.now))
    assert names(tp, "buyers") == {"bob"}
    ingest(tp, event(5, "ann", "purchase", wall.now), event(6, "ann", "purchase", wall.now))
    assert names(tp, "buyers") == {"ann", "bob"}
    kinds = [(k, o) for _, k, o in history(tp)]
    assert kinds[-1] == (store.ENTERED, 2)  # ann's second entry has its own key
    # ticks again at the same moment and a replay record nothing more
    before = history(tp)
    tp.projections.tick(wall.now)
    tp.projections.replay("segments")
    assert history(tp) == before


def test_opened_no_email_enters_as_time_passes(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="quiet", rule="opened no email in 60 days")
    ingest(
        tp,
        event(1, "ann", "email_opened", START - 50 * DAY, channel="email"),
        event(2, "bob", "email_opened", START - 61 * DAY, channel="email"),
    )
    assert names(tp, "quiet") == {"bob"}
    wall.now = START + 10 * DAY + timedelta(minutes=1)  # ann's open is now 60 days old
    tp.projections.tick(wall.now)
    assert names(tp, "quiet") == {"ann", "bob"}


def test_this_month_rolls_at_the_month_s_start(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="waited", rule="waited over 5 minutes on a call this month")
    ingest(
        tp,
        event(1, "ann", "call", START - 2 * DAY, channel="phone", properties={"wait_s": 301}),
        event(2, "bob", "call", START - 2 * DAY, channel="phone", properties={"wait_s": 299}),
    )
    assert names(tp, "waited") == {"ann"}
    assert service.get_segment(tp, "waited").next_due == datetime(2026, 4, 1, tzinfo=UTC)
    wall.now = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)
    tp.projections.tick(wall.now)
    assert names(tp, "waited") == {"ann"}
    wall.now = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
    tp.projections.tick(wall.now)
    assert names(tp, "waited") == set()


def test_a_merge_leaves_for_the_merged_away_and_re_evaluates_the_survivor(
    tp: Touchpoint, wall: Wall
) -> None:
    service.create_segment(tp, name="buyers", rule="purchased >= 2 times in last 30 days")
    service.create_segment(tp, name="any", rule="purchased")
    ingest(
        tp,
        event(1, "ann", "purchase", START - 3 * DAY, customer={"phone": "+14155550101"}),
        event(2, "zed", "purchase", START - 2 * DAY),
    )
    assert names(tp, "buyers") == set()
    assert names(tp, "any") == {"ann", "zed"}
    # zed's next event carries ann's phone: the two merge; the survivor has two purchases
    ingest(tp, event(3, "zed", "page_view", START - DAY, customer={"phone": "+14155550101"}))
    with read_connection(tp.engine) as conn:
        members = store.members(conn, service.get_segment(tp, "any").id)
    assert len(members) == 1
    assert service.get_segment(tp, "buyers").members == 1
    left = [k for _, k, _ in history(tp) if k == store.LEFT]
    assert left == [store.LEFT]  # the merged-away customer left "any", once


def test_a_merge_by_hand_refolds(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="buyers", rule="purchased >= 2 times in last 30 days")
    ingest(
        tp,
        event(1, "ann", "purchase", START - 3 * DAY),
        event(2, "cat", "purchase", START - 2 * DAY),
    )
    assert names(tp, "buyers") == set()
    with read_connection(tp.engine) as conn:
        ids = [row.customer_id for row in store.changes_after(conn, 0, 10)]
    from touchpoint.services.customers import find_customers, lookup_keys

    with read_connection(tp.engine) as conn:
        (_, [ann]), (_, [cat]) = (
            find_customers(conn, lookup_keys(email=f"{w}@example.com")) for w in ("ann", "cat")
        )
    merge_customers(tp, ann.id, cat.id)
    assert service.get_segment(tp, "buyers").members == 1
    assert ids == []


def test_a_late_event_counts_from_its_own_moment(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="buyers", rule="purchased >= 2 times in last 30 days")
    ingest(tp, event(1, "ann", "purchase", START - 1 * DAY))
    ingest(tp, event(2, "ann", "purchase", START - 40 * DAY))  # late and outside the window
    assert names(tp, "buyers") == set()
    ingest(tp, event(3, "ann", "purchase", START - 29 * DAY))  # late, inside: leaves in a day
    assert names(tp, "buyers") == {"ann"}
    assert service.get_segment(tp, "buyers").next_due == START + DAY
    wall.now = START + DAY + timedelta(seconds=1)
    tp.projections.tick(wall.now)
    assert names(tp, "buyers") == set()


def test_stage_moved_by_time_moves_members(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="risky", rule="stage in (at_risk, churned)")
    ingest(tp, event(1, "ann", "purchase", START - 89 * DAY))
    assert names(tp, "risky") == set()
    wall.now = START + 2 * DAY  # 91 days without activity: the lifecycle's at_risk
    tp.projections.tick(wall.now)
    assert names(tp, "risky") == {"ann"}


def test_the_stream_gives_each_change_once(tp: Touchpoint, wall: Wall) -> None:
    service.create_segment(tp, name="buyers", rule="purchased")
    ingest(tp, event(1, "ann", "purchase", START - DAY))
    consumer = Consumer("test.segments", "segments")
    seen: list[Any] = []
    assert consumer.consume(tp.engine, lambda conn, e: seen.append(e)) == 1
    tp.projections.replay("segments")
    assert consumer.consume(tp.engine, lambda conn, e: seen.append(e)) == 0
    [entered] = seen
    assert (entered.kind, entered.subject, entered.reason) == (store.ENTERED, "buyers", "ingest")
    assert (
        entered.key == f"{store.ENTERED}:{service.get_segment(tp, 'buyers').id}:"
        f"{entered.customer_id}:1"
    )
    with read_connection(tp.engine) as conn:
        assert read_events(conn, "segments", after=0) == seen


def test_score_conditions_read_the_decayed_score(tp: Touchpoint, wall: Wall) -> None:
    from touchpoint.errors import ValidationError
    from touchpoint.store.scores import decayed_scores

    ingest(
        tp,
        *(event(n, "ann", "page_view", START - n * DAY) for n in range(1, 4)),
        event(9, "ann", "signup", START - 2 * DAY),
        event(10, "bob", "page_view", START - 20 * DAY),
    )
    with read_connection(tp.engine) as conn:
        held = decayed_scores(conn, "lead", START)  # the scores' own (Python) arithmetic
    low, high = sorted(held.values())[0], sorted(held.values())[-1]
    assert 0 < low < high
    threshold = (low + high) / 2
    service.create_segment(tp, name="hot", rule=f"score.lead > {threshold}")
    expected = {cid for cid, value in held.items() if value > threshold}
    with read_connection(tp.engine) as conn:
        assert store.members(conn, service.get_segment(tp, "hot").id) == expected
        # later, both decayed: the one above the threshold falls below it
        later = START + 200 * DAY
        decayed = decayed_scores(conn, "lead", later)
    assert all(v < threshold for v in decayed.values())
    wall.now = later
    tp.projections.tick(later)
    assert service.get_segment(tp, "hot").members == 0
    with pytest.raises(ValidationError, match="no score model named 'nope'.*there are: "):
        service.preview(tp, rule="score.nope > 1")
