"""Properties of identity resolution over many batches (an in-memory graph stored as the pipeline
stores it): what is order-independent once merge protection exists (see tests/domain/universes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.graph import Graph
from tests.domain.universes import (
    History,
    alias_classes,
    arrival,
    components,
    contested,
    uncontested,
)


def play(batches: list[list[tuple[str, list[str]]]]) -> Graph:
    graph = Graph()
    for batch in batches:
        graph.ingest(batch)
    return graph


@settings(max_examples=300, deadline=None)
@given(data=st.data(), history=uncontested())
def test_uncontested_histories_give_the_components_in_any_order_and_batching(
    data: st.DataObject, history: History
) -> None:
    events_partition, keys_partition = components(history.events)
    for _ in range(2):
        graph = play(data.draw(arrival(history.events)))
        assert graph.event_partition() == events_partition
        assert graph.key_partition() == keys_partition
        assert graph.conflicts == []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), history=contested())
def test_contested_histories_never_glue_two_user_ids_in_any_order(
    data: st.DataObject, history: History
) -> None:
    classes = alias_classes(history.events)
    graph = play(data.draw(arrival(history.events)))
    # every key seen has exactly one live owner
    seen = {k for _, keys in history.events for k in keys}
    assert set(graph.owner) == seen
    assert set(graph.owner.values()) <= graph.live()
    # no customer holds user ids of two alias classes
    for cid in graph.live():
        users = {classes.find(k) for k in graph.keys_of(cid) if k.startswith("external_id:")}
        assert len(users) <= 1
    # events with user ids are together exactly when their ids are alias-linked
    with_user = [
        (event, next(k for k in keys if k.startswith("external_id:")))
        for event, keys in history.events
        if any(k.startswith("external_id:") for k in keys)
    ]
    for event, user in with_user:
        assert graph.owner[user] == graph.event_customer[event]  # on the holder of its id
        for other, other_user in with_user:
            same = graph.event_customer[event] == graph.event_customer[other]
            assert same == (classes.find(user) == classes.find(other_user))
    # every event lands on a customer holding one of its keys
    for event, keys in history.events:
        assert any(graph.owner[k] == graph.event_customer[event] for k in keys)
    # conflicts are only ever between two holders of user ids
    for conflict in graph.conflicts:
        assert conflict.reason == "limit:external_id"
