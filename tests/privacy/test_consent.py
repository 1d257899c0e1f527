"""Consent history, a projection of the log: changes are rows (never overwritten) with their
source and times, the consent in force is the latest by when it happened, and every way of
building it (inline, after a deferred import, a replay, a merge) gives the same rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.builders import T0, interaction
from tests.projections.test_registry import write_jsonl
from touchpoint.domain.consent import current_consent
from touchpoint.runtime import Touchpoint
from touchpoint.services.imports import import_file
from touchpoint.store import consent as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import consent_history

ANN = "ann.consent@example.com"


def history_rows(tp: Touchpoint) -> list[tuple]:
    """Every change as stored, without its seq (a rebuild numbers them anew)."""
    columns = [c for c in consent_history.c if c.name != "seq"]
    with read_connection(tp.engine) as conn:
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


def changes(tp: Touchpoint, customer_id: str):
    with read_connection(tp.engine) as conn:
        return store.history(conn, customer_id)


def events() -> list[dict]:
    """Ann: unsubscribes from the newsletter (10), grants SMS marketing on a web form (20),
    withdraws email marketing (30) and grants it again (40); a withdrawal of SMS that happened
    at 15 arrives last. Bob: one grant by phone."""
    return [
        interaction(
            id="c-1", type="unsubscribe", channel="email", email=ANN, at=10,
            properties={"list": "newsletter"},
        ),
        interaction(  # a web form granting SMS marketing
            id="c-2", type="consent_granted", channel="web", email=ANN, at=20,
            properties={"channel": "sms"},
        ),
        interaction(id="c-3", type="consent_withdrawn", channel="email", email=ANN, at=30),
        interaction(id="c-4", type="consent_granted", channel="email", email=ANN, at=40),
        interaction(id="x-1", type="page_view", email=ANN, at=45),
        interaction(
            id="c-5", type="consent_granted", channel="phone", email="bob@example.com", at=50,
            properties={"purpose": "calls"},
        ),
        interaction(id="c-6", type="consent_withdrawn", channel="sms", email=ANN, at=15),
    ]  # fmt: skip


def test_consent_changes_are_history_and_the_latest_in_time_holds(tp: Touchpoint) -> None:
    report = tp.ingestor.ingest(enumerate(events()[:-1]))
    tp.ingestor.ingest(enumerate(events()[-1:]))  # the SMS withdrawal dated 15 arrives later
    ann = str(report.results[0].customer_id)
    history = changes(tp, ann)
    assert [(c.source, c.channel, c.purpose, c.status) for c in history] == [
        ("c-1", "email", "newsletter", "withdrawn"),
        ("c-6", "sms", "marketing", "withdrawn"),
        ("c-2", "sms", "marketing", "granted"),
        ("c-3", "email", "marketing", "withdrawn"),
        ("c-4", "email", "marketing", "granted"),
    ]
    assert history[0].occurred_at == T0 + timedelta(minutes=10)
    assert history[1].recorded_at > history[2].recorded_at  # c-6 came last, dated earlier
    now = {scope: c.status for scope, c in current_consent(history).items()}
    # the late SMS withdrawal (15) is older than the grant (20): the grant holds
    assert now == {
        ("email", "newsletter"): "withdrawn",
        ("email", "marketing"): "granted",
        ("sms", "marketing"): "granted",
    }


def test_a_replay_gives_the_rows_inline_ingest_gave(tp: Touchpoint) -> None:
    tp.ingestor.ingest(enumerate(events()))
    inline = history_rows(tp)
    assert len(inline) == 6
    tp.projections.replay("consent")
    assert history_rows(tp) == inline


def test_a_deferred_import_caught_up_gives_the_rows_inline_ingest_gave(
    tp: Touchpoint, tmp_path: Path
) -> None:
    tp.ingestor.ingest(enumerate(events()[:2]))
    import_file(tp, write_jsonl(tmp_path / "rest.jsonl", events()[2:]), catch_up=False)
    assert len(history_rows(tp)) == 2  # deferred: not folded yet
    tp.projections.catch_up()
    caught_up = history_rows(tp)
    tp.projections.replay("consent")
    assert caught_up == history_rows(tp)
    assert len(caught_up) == 6


def test_a_merge_gives_the_merged_customers_changes_to_the_survivor(tp: Touchpoint) -> None:
    first = tp.ingestor.ingest(
        [(0, interaction(id="m-1", type="consent_granted", channel="sms", phone="+14155550111"))]
    ).results[0]
    second = tp.ingestor.ingest(
        [(0, interaction(id="m-2", type="unsubscribe", channel="email", email=ANN, at=5))]
    ).results[0]
    assert first.customer_id != second.customer_id
    tp.ingestor.ingest([(0, interaction(id="m-3", email=ANN, phone="+14155550111", at=9))])
    merged = changes(tp, str(first.customer_id))  # the older customer survives
    assert [c.source for c in merged] == ["m-1", "m-2"]
    assert changes(tp, str(second.customer_id)) == []
    rows = history_rows(tp)
    tp.projections.replay("consent")
    assert history_rows(tp) == rows
