"""Domain events: stage entered/left read in order after a consumer's checkpoint, acted on once."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from tests.builders import interaction
from touchpoint.errors import ValidationError
from touchpoint.projections.events import Consumer, DomainEvent, read_events
from touchpoint.runtime import Touchpoint
from touchpoint.store.engine import read_connection


def test_a_journey_emits_entered_and_left_in_order(tp: Touchpoint) -> None:
    tp.ingestor.ingest(
        enumerate(
            [
                interaction(id="e1", type="page_view", at=0, email="a@example.com"),
                interaction(id="e2", type="signup", at=1, email="a@example.com"),
                interaction(id="e3", type="purchase", at=2, email="a@example.com", revenue=5.0),
            ]
        )
    )
    with read_connection(tp.engine) as conn:
        events = read_events(conn, "lifecycle", after=0)
    # default model: reach (first touch) → acquisition (signup) → conversion (purchase)
    assert [(e.kind, e.subject, e.cause) for e in events] == [
        ("stage_entered", "reach", "e1"),
        ("stage_left", "reach", "e2"),
        ("stage_entered", "acquisition", "e2"),
        ("stage_left", "acquisition", "e3"),
        ("stage_entered", "conversion", "e3"),
    ]
    positions = [e.position for e in events]
    assert positions == sorted(positions)
    with read_connection(tp.engine) as conn:
        later = read_events(conn, "lifecycle", after=events[0].position)
    assert [e.key for e in later] == [e.key for e in events[1:]]


def test_a_consumer_acts_on_each_event_once_across_calls(tp: Touchpoint) -> None:
    seen: list[DomainEvent] = []

    def act(_conn: Connection, event: DomainEvent) -> None:
        seen.append(event)

    consumer = Consumer("test-playbooks", "lifecycle")
    tp.ingestor.ingest([(0, interaction(id="e1", type="signup", at=0, email="a@example.com"))])
    assert consumer.consume(tp.engine, act) == 1  # entered acquisition (first stage reached)
    assert consumer.consume(tp.engine, act) == 0
    tp.ingestor.ingest(
        [(0, interaction(id="e2", type="purchase", at=5, email="a@example.com", revenue=1.0))]
    )
    assert consumer.consume(tp.engine, act) == 2  # left acquisition, entered conversion
    assert [(e.kind, e.subject) for e in seen] == [
        ("stage_entered", "acquisition"),
        ("stage_left", "acquisition"),
        ("stage_entered", "conversion"),
    ]


def test_a_refold_gives_the_same_change_the_same_key(tp: Touchpoint) -> None:
    tp.ingestor.ingest(
        enumerate(
            [
                interaction(id="e1", type="signup", at=0, email="a@example.com"),
                interaction(id="e3", type="purchase", at=10, email="a@example.com", revenue=5.0),
            ]
        )
    )
    with read_connection(tp.engine) as conn:
        before = read_events(conn, "lifecycle", after=0)
    # A late page view between the two: the customer is refolded, their transitions rewritten.
    tp.ingestor.ingest([(0, interaction(id="e2", type="page_view", at=5, email="a@example.com"))])
    with read_connection(tp.engine) as conn:
        rewritten = read_events(conn, "lifecycle", after=before[-1].position)
    assert rewritten, "a refold writes the transitions again, at new positions"
    assert [e.key for e in rewritten] == [e.key for e in before]


def test_an_unknown_stream_is_refused_by_name(tp: Touchpoint) -> None:
    with read_connection(tp.engine) as conn, pytest.raises(ValidationError, match="lifecycle"):
        read_events(conn, "nonesuch", after=0)
