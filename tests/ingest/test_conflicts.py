"""An id already stored: the same content again is a quiet duplicate; other content is a
conflict that names the fields and stores nothing. And events dated in the future are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import interactions


def ingest(tp: Touchpoint, *items: dict):
    return tp.ingestor.ingest(enumerate(items))


def stored(tp: Touchpoint) -> dict[str, tuple]:
    with read_connection(tp.engine) as conn:
        rows = conn.execute(select(interactions.c.id, interactions.c.type, interactions.c.revenue))
        return {row.id: (row.type, row.revenue) for row in rows}


def purchase(**fields) -> dict:
    return interaction(
        id="p-1", type="purchase", email="ann@example.com", revenue=10, currency="USD", **fields
    )


def test_the_same_id_with_other_content_is_a_conflict_naming_the_field(tp: Touchpoint) -> None:
    ingest(tp, purchase())
    report = ingest(tp, {**purchase(), "revenue": 12})
    result = report.results[0]
    assert (result.status, result.id, result.differs) == ("conflict", "p-1", ("revenue",))
    assert result.reason == "id p-1 already stored with different content (fields: revenue)"
    assert (report.accepted, report.duplicates, len(report.conflicts)) == (0, 0, 1)
    assert stored(tp) == {"p-1": ("purchase", 10.0)}  # what was stored first stays


def test_every_differing_field_is_named_as_the_interaction_shape_names_it(
    tp: Touchpoint,
) -> None:
    ingest(tp, purchase(attribution={"campaign": "spring"}))
    changed = {
        **purchase(attribution={"campaign": "summer"}),
        "type": "refund",
        "customer": {"email": "bo@example.com"},
    }
    result = ingest(tp, changed).results[0]
    assert result.differs == ("type", "attribution.campaign", "customer")


def test_the_same_content_written_differently_is_a_quiet_duplicate(tp: Touchpoint) -> None:
    ingest(tp, purchase(properties={"a": 1, "b": [1, 2]}))
    same = {
        **purchase(properties={"b": [1, 2], "a": 1}),  # keys in another order
        "occurred_at": "2026-01-01T13:00:00+01:00",  # T0 (12:00 UTC) in another zone
        "revenue": 10.0,  # 10 sent as a float
        "customer": {"email": "ANN@example.com"},  # the same identity, normalised
        "traits": {"name": "Ann"},  # traits update the profile; the log does not keep them
    }
    report = ingest(tp, same)
    assert report.results[0].status == "duplicate"
    assert (report.duplicates, report.conflicts) == (1, [])


def test_a_conflict_within_one_batch_keeps_the_first_and_the_rest_land(tp: Touchpoint) -> None:
    report = ingest(
        tp,
        purchase(),
        {**purchase(), "type": "refund"},
        purchase(),
        interaction(id="p-2", email="ann@example.com"),
    )
    assert [(r.position, r.status) for r in report.results] == [
        (0, "accepted"),
        (1, "conflict"),
        (2, "duplicate"),
        (3, "accepted"),
    ]
    assert report.results[1].differs == ("type",)
    assert stored(tp) == {"p-1": ("purchase", 10.0), "p-2": ("page_view", None)}


def test_a_file_reimported_with_a_changed_row_reports_its_line(
    tp: Touchpoint, tmp_path: Path
) -> None:
    header = "id,type,channel,occurred_at,email,revenue,currency\n"
    first = tmp_path / "day1.csv"
    first.write_text(
        header
        + "c1,purchase,web,2026-02-01T10:00:00Z,a@example.com,20,EUR\n"
        + "c2,purchase,web,2026-02-02T10:00:00Z,a@example.com,30,EUR\n"
    )
    import_file(tp, first)
    second = tmp_path / "day1-corrected.csv"
    second.write_text(
        header
        + "c1,purchase,web,2026-02-01T10:00:00Z,a@example.com,20,EUR\n"
        + "c2,purchase,web,2026-02-02T11:00:00Z,a@example.com,35,EUR\n"
        + "c3,refund,web,2026-02-03T10:00:00Z,a@example.com,-20,EUR\n"
    )
    report = import_file(tp, second)  # as the CLI imports: counts, not every result
    assert (report.accepted, report.duplicates, len(report.rejected)) == (1, 1, 0)
    assert [(c.position, c.reason) for c in report.conflicts] == [
        (3, "id c2 already stored with different content (fields: occurred_at, revenue)")
    ]
    assert stored(tp) == {
        "c1": ("purchase", 20.0),
        "c2": ("purchase", 30.0),
        "c3": ("refund", -20.0),
    }


def test_an_event_dated_in_the_future_is_refused_and_the_rest_land(tp: Touchpoint) -> None:
    now = datetime.now(UTC)
    report = ingest(
        tp,
        interaction(id="f-1", email="ann@example.com", at=now + timedelta(days=1, minutes=5)),
        interaction(id="f-2", email="ann@example.com", at=now + timedelta(hours=23)),  # skew
        interaction(id="f-3", email="ann@example.com", at=now - timedelta(days=1)),
    )
    assert [(r.position, r.status) for r in report.results] == [
        (0, "rejected"),
        (1, "accepted"),
        (2, "accepted"),
    ]
    reason = report.results[0].reason or ""
    assert reason.startswith("occurred_at: ") and "is in the future" in reason
    assert set(stored(tp)) == {"f-2", "f-3"}


def test_rows_stored_before_identities_were_kept_match_any_identities(tp: Touchpoint) -> None:
    from sqlalchemy import null, update

    from touchpoint.store.engine import write_transaction

    ingest(tp, purchase())
    with write_transaction(tp.engine) as conn:  # as a row stored before migration 0006
        conn.execute(update(interactions).values(identity_keys=null()))
    other_customer = {**purchase(), "customer": {"email": "bo@example.com"}}
    assert ingest(tp, other_customer).results[0].status == "duplicate"
    assert ingest(tp, {**other_customer, "revenue": 11}).results[0].differs == ("revenue",)


def test_floats_are_compared_to_the_last_digit(tp: Touchpoint) -> None:
    """SQLite's JSON writes floats to 15 digits: the check must not read 0.1 + 0.2 as 0.3."""
    sent = interaction(
        id="fl-1", type="call", channel="phone", email="ann@example.com", duration_s=1 / 3
    )
    sent["revenue"] = 0.1 + 0.2  # 0.30000000000000004
    ingest(tp, sent)
    assert ingest(tp, dict(sent)).results[0].status == "duplicate"
    assert ingest(tp, {**sent, "revenue": 0.3}).results[0].differs == ("revenue",)
    assert ingest(tp, {**sent, "duration_s": 0.3333333333333333}).results[0].status == "duplicate"
    assert ingest(tp, {**sent, "duration_s": 0.333333333333333}).results[0].differs == (
        "duration_s",
    )
