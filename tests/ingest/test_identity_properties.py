"""Properties of identity resolution through the real ingestion path, on SQLite and PostgreSQL:
any order and batching of the same events gives the same customers (what "the same" means once
merge protection exists: tests/domain/universes.py), and a merge by hand undone gives back the
projections of the history that was never merged."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.builders import T0
from tests.domain.graph import Graph
from tests.domain.universes import History, arrival, components, contested, uncontested
from tests.postgres_server import create_database
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import identity
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customer_stages, identities, interactions, stage_transitions

_examples = itertools.count()
Batches = list[list[tuple[str, list[str]]]]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fresh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], Touchpoint]:
    """Opens a new, empty Touchpoint on the engine (one per Hypothesis example)."""
    server = request.getfixturevalue("postgres_url") if request.param == "postgres" else None

    def open_new() -> Touchpoint:
        data_dir = tmp_path_factory.mktemp(f"identity{next(_examples)}")
        url = create_database(server) if server else None
        return open_touchpoint(Settings(data_dir=data_dir, database_url=url))

    return open_new


def as_interaction(event: str, keys: list[str], minute: int, **fields: Any) -> dict[str, Any]:
    """An interaction carrying exactly these identity keys (an alias when one is previous_id)."""
    customer: dict[str, str] = {}
    body: dict[str, Any] = {"type": "page_view", **fields}
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "previous_id":
            body = {**body, "type": "alias", "properties": {"previous_id": value}}
        else:
            customer[kind] = value
    occurred = T0 + timedelta(minutes=minute)
    return {
        "id": event,
        "channel": "web",
        "occurred_at": occurred.isoformat(),
        "customer": customer,
        **body,
    }


def ingest(tp: Touchpoint, batches: Batches) -> None:
    minute = itertools.count()
    for batch in batches:
        items = [as_interaction(event, keys, next(minute)) for event, keys in batch]
        report = tp.ingestor.ingest(enumerate(items))
        assert not report.rejected, report.rejected


def partitions(tp: Touchpoint) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """Customers as the sets of events they hold and the sets of keys they hold."""
    with read_connection(tp.engine) as conn:
        events = conn.execute(select(interactions.c.customer_id, interactions.c.id)).all()
        keys = conn.execute(select(identities.c.customer_id, identities.c.key)).all()

    def grouped(rows: Any) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for cid, item in rows:
            groups.setdefault(cid, set()).add(item)
        return {frozenset(g) for g in groups.values()}

    return grouped(events), grouped(keys)


EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@EXAMPLES
@given(data=st.data(), history=uncontested())
def test_stored_customers_are_the_components_in_any_order(
    fresh: Callable[[], Touchpoint], data: st.DataObject, history: History
) -> None:
    tp = fresh()
    try:
        ingest(tp, data.draw(arrival(history.events)))
        assert partitions(tp) == components(history.events)
        with read_connection(tp.engine) as conn:
            assert identity.list_conflicts(conn, status="all") == (0, [])
    finally:
        tp.close()


@EXAMPLES
@given(data=st.data(), history=contested())
def test_stored_customers_follow_the_pure_resolution_when_keys_are_contested(
    fresh: Callable[[], Touchpoint], data: st.DataObject, history: History
) -> None:
    """The store implements `resolve_batch` exactly, protection included (its invariants are
    tested over many orders in tests/domain/test_resolution_properties.py)."""
    batches = data.draw(arrival(history.events))
    graph = Graph()
    for batch in batches:
        graph.ingest(batch)
    tp = fresh()
    try:
        ingest(tp, batches)
        assert partitions(tp) == (graph.event_partition(), graph.key_partition())
        with read_connection(tp.engine) as conn:
            stored = identity.list_conflicts(conn, status="all", limit=500)[1]
        assert sum(c.events for c in stored) == len(graph.conflicts)
    finally:
        tp.close()


# --- merge, then unmerge, by hand ------------------------------------------------------------

KINDS = [
    ("page_view", {}),
    ("signup", {}),
    ("call", {"channel": "phone"}),
    ("purchase", {"revenue": 30.0}),
    ("purchase", {"revenue": 300.0}),
    ("refund", {"revenue": -30.0}),
    ("ticket_opened", {}),
    ("ticket_resolved", {}),
    ("cancellation", {}),
    ("survey_response", {"properties": {"survey": "nps", "score": 10}}),
    ("survey_response", {"properties": {"survey": "csat", "score": 1}}),
    ("review", {"properties": {"rating": 5}}),
]
PEOPLE = {"ann": "email:ann@x.co", "bea": "email:bea@x.co"}
LATER_PHONE = {"ann": "phone:+14155550101", "bea": "phone:+14155550102"}


@st.composite
def journeys(draw: st.DrawFn, *, after_merge: bool) -> list[dict[str, Any]]:
    """Events of ann and bea, each by their email (both appear before the merge); after it, some
    also carry a phone new to Touchpoint."""
    prefix = "late" if after_merge else "early"
    people = [] if after_merge else sorted(PEOPLE)
    people += draw(st.lists(st.sampled_from(sorted(PEOPLE)), max_size=7))
    events = []
    for n, person in enumerate(people):
        keys = [PEOPLE[person]]
        if after_merge and draw(st.booleans()):
            keys.append(LATER_PHONE[person])
        kind, fields = draw(st.sampled_from(KINDS))
        day = draw(st.integers(0, 300))  # T0 + 300 days is past: future-dated events are refused
        events.append(
            as_interaction(f"{prefix}{n}-{person}", keys, day * 24 * 60, type=kind, **fields)
        )
    return events


def projections_by_person(tp: Touchpoint) -> dict[str, Any]:
    """Each person's stage row and transitions, and the events and keys they hold."""
    found = {}
    s, t = customer_stages.c, stage_transitions.c
    with read_connection(tp.engine) as conn:
        for person, key in PEOPLE.items():
            cid = conn.scalar(select(identities.c.customer_id).where(identities.c.key == key))
            stage = conn.execute(
                select(s.stage, s.since, s.model, s.state, s.due_at).where(s.customer_id == cid)
            ).all()
            moves = conn.execute(
                select(t.from_stage, t.to_stage, t.at, t.interaction_id, t.reason)
                .where(t.customer_id == cid)
                .order_by(t.at, t.seq)
            ).all()
            held = conn.scalars(select(identities.c.key).where(identities.c.customer_id == cid))
            events = conn.scalars(
                select(interactions.c.id).where(interactions.c.customer_id == cid)
            )
            found[person] = (
                [tuple(r) for r in stage],
                [tuple(r) for r in moves],
                set(held),
                set(events),
            )
    return found


def customer_of(tp: Touchpoint, key: str) -> str:
    with read_connection(tp.engine) as conn:
        return str(conn.scalar(select(identities.c.customer_id).where(identities.c.key == key)))


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), early=journeys(after_merge=False), late=journeys(after_merge=True))
def test_merge_then_unmerge_gives_back_the_never_merged_projections(
    fresh: Callable[[], Touchpoint],
    data: st.DataObject,
    early: list[dict[str, Any]],
    late: list[dict[str, Any]],
) -> None:
    early_batches = data.draw(arrival(early))
    late_batches = data.draw(arrival(late)) if late else []
    never, merged = fresh(), fresh()
    try:
        for tp in (never, merged):
            for batch in early_batches:
                tp.ingestor.ingest(enumerate(batch))
        ann, bea = (customer_of(merged, key) for key in PEOPLE.values())
        record = identity.merge_customers(merged, ann, bea)
        for tp in (never, merged):
            for batch in late_batches:
                tp.ingestor.ingest(enumerate(batch))
        identity.unmerge(merged, record.id)
        assert projections_by_person(merged) == projections_by_person(never)
    finally:
        never.close()
        merged.close()
