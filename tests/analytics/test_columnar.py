"""The columnar copy: incremental refresh from the system of record (SQLite and PostgreSQL, read
through DuckDB's scanners) keeps it equal to the log, merges and rewritten transitions included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from tests.builders import interaction
from touchpoint.analytics import columnar
from touchpoint.errors import BackendError
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store.duckdb_attach import scanner_extension
from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import customers, interactions, lifecycle_meta, stage_transitions


def _sor(tp: Touchpoint) -> dict[str, Any]:
    with tp.engine.connect() as conn:
        log = set(conn.execute(select(interactions.c.id, interactions.c.customer_id)).all())
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
        live = set(
            conn.execute(select(customers.c.id).where(customers.c.merged_into.is_(None))).scalars()
        )
        inbound = conn.execute(
            select(interactions.c.customer_id, interactions.c.occurred_at).where(
                interactions.c.direction == "inbound"
            )
        ).all()
    merged = _survivors(tp)
    first: dict[tuple[str, int], datetime] = {}
    for cid, at in inbound:
        at = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
        pair = (merged.get(cid, cid), at.year * 12 + at.month - 1)
        first[pair] = min(first.get(pair, at), at)
    return {"log": log, "moves": moves, "customers": live, "activity": linked_months(first)}


def linked_months(first: dict[tuple[str, int], datetime]) -> dict[tuple[str, int], tuple[Any, ...]]:
    """(customer, month) -> (first moment, previous month, next month, next month's first)."""
    out: dict[tuple[str, int], tuple[Any, ...]] = {}
    for (cid, p), at in first.items():
        months = sorted(m for c, m in first if c == cid)
        i = months.index(p)
        before = months[i - 1] if i else None
        after = months[i + 1] if i + 1 < len(months) else None
        out[(cid, p)] = (at, before, after, first[(cid, after)] if after is not None else None)
    return out


def _survivors(tp: Touchpoint) -> dict[str, str]:
    with tp.engine.connect() as conn:
        rows = conn.execute(
            select(customers.c.id, customers.c.merged_into).where(
                customers.c.merged_into.is_not(None)
            )
        ).all()
    return {str(loser): str(survivor) for loser, survivor in rows}


def _copy(tp: Touchpoint) -> dict[str, Any]:
    """The copy's rows with its integer customer keys turned back into ids."""
    con = columnar.connect_copy(columnar.copy_path(tp.settings), read_only=True)
    key = "JOIN customer_keys k ON k.key = t.customer_id"
    try:
        log = set(con.execute(f"SELECT t.id, k.id FROM interactions t {key}").fetchall())
        moves = set(
            con.execute(
                f"SELECT k.id, from_stage, to_stage, seq FROM transitions t {key}"
            ).fetchall()
        )
        live = {
            row[0]
            for row in con.execute(
                "SELECT k.id FROM customers c JOIN customer_keys k ON k.key = c.id"
            ).fetchall()
        }
        activity = {
            (row[0], row[1]): row[2:]
            for row in con.execute(
                "SELECT k.id, p, first_at, prev_p, next_p, next_first_at FROM monthly_activity t "
                "JOIN customer_keys k ON k.key = t.customer_id"
            ).fetchall()
        }
        counts = con.execute(
            "SELECT (SELECT count(*) FROM interactions), (SELECT count(*) FROM transitions), "
            "(SELECT count(*) FROM customers)"
        ).fetchone()
    finally:
        con.close()
    assert counts == (len(log), len(moves), len(live))  # every key maps to one id
    return {"log": log, "moves": moves, "customers": live, "activity": activity}


def test_customer_keys_are_integers_mapped_one_to_one(tp: Touchpoint) -> None:
    _ingest(tp, interaction(email="fa@example.com", at=0), interaction(phone="+14155550100", at=1))
    columnar.refresh(tp.settings)
    con = columnar.connect_copy(columnar.copy_path(tp.settings), read_only=True)
    try:
        kinds = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE column_name = 'customer_id' ORDER BY table_name"
        ).fetchall()
        pairs = con.execute("SELECT key, id FROM customer_keys ORDER BY key").fetchall()
    finally:
        con.close()
    assert kinds == [("BIGINT",)] * 3  # interactions, monthly_activity, transitions
    assert [key for key, _id in pairs] == [1, 2]
    assert {cid for _key, cid in pairs} == _sor(tp)["customers"]


def _ingest(tp: Touchpoint, *items: dict[str, Any]) -> None:
    assert not tp.ingestor.ingest(enumerate(items)).rejected


def test_refresh_copies_only_new_rows(tp: Touchpoint) -> None:
    _ingest(tp, *(interaction(email="ann@example.com", at=i) for i in range(3)))
    first = columnar.refresh(tp.settings)
    assert (first.interactions, first.full_transitions) == (3, True)
    assert _copy(tp) == _sor(tp)
    again = columnar.refresh(tp.settings)
    assert (again.interactions, again.transitions, again.merges) == (0, 0, 0)
    _ingest(tp, interaction(type="purchase", email="ann@example.com", at=10, revenue=9.5))
    later = columnar.refresh(tp.settings)
    assert later.interactions == 1
    assert _copy(tp) == _sor(tp)


def test_refresh_applies_merges_to_rows_copied_before(tp: Touchpoint) -> None:
    _ingest(
        tp,
        interaction(email="bo@example.com", at=0),
        interaction(type="signup", email="bo@example.com", at=1),
        interaction(anonymous_id="cookie-1", at=2),
        interaction(type="purchase", anonymous_id="cookie-1", at=3, revenue=20.0),
    )
    columnar.refresh(tp.settings)
    assert len(_copy(tp)["customers"]) == 2
    # One event carrying both identities ties the two customers together.
    _ingest(tp, interaction(email="bo@example.com", anonymous_id="cookie-1", at=4))
    stats = columnar.refresh(tp.settings)
    assert (stats.interactions, stats.merges) == (1, 1)
    copied = _copy(tp)
    assert copied == _sor(tp)
    assert len(copied["customers"]) == 1
    assert {cid for _id, cid in copied["log"]} == copied["customers"]


def test_rewritten_transitions_replace_the_customers_copy(tp: Touchpoint) -> None:
    _ingest(tp, interaction(email="cy@example.com", at=0))
    columnar.refresh(tp.settings)
    # What the lifecycle engine does on a late event: delete the customer's history and write
    # the new one with new seqs.
    with write_transaction(tp.engine) as conn:
        rows = conn.execute(select(stage_transitions)).mappings().all()
        conn.execute(stage_transitions.delete())
        for row in rows:
            conn.execute(
                stage_transitions.insert().values(
                    {**{k: v for k, v in row.items() if k != "seq"}, "reason": "rewritten"}
                )
            )
    stats = columnar.refresh(tp.settings)
    assert not stats.full_transitions
    assert _copy(tp) == _sor(tp)


def test_a_new_lifecycle_generation_recopies_all_transitions(tp: Touchpoint) -> None:
    _ingest(tp, interaction(email="di@example.com", at=0))
    columnar.refresh(tp.settings)
    with write_transaction(tp.engine) as conn:
        found = conn.execute(
            select(lifecycle_meta.c.value).where(lifecycle_meta.c.key == "generation")
        ).scalar()
        if found is None:
            conn.execute(lifecycle_meta.insert().values(key="generation", value="99"))
        else:
            conn.execute(
                update(lifecycle_meta)
                .where(lifecycle_meta.c.key == "generation")
                .values(value=str(int(found) + 1))
            )
    stats = columnar.refresh(tp.settings)
    assert stats.full_transitions
    assert _copy(tp) == _sor(tp)


def test_a_copy_with_an_old_schema_is_rebuilt(tp: Touchpoint) -> None:
    _ingest(tp, interaction(email="ed@example.com", at=0))
    columnar.refresh(tp.settings)
    con = columnar.connect_copy(columnar.copy_path(tp.settings))
    con.execute("UPDATE copy_state SET value = 'old' WHERE key = 'schema'")
    con.close()
    assert columnar.refresh(tp.settings).interactions == 1
    assert _copy(tp) == _sor(tp)


def test_campaign_spend_is_copied_whole(tp: Touchpoint) -> None:
    from datetime import UTC, date, datetime

    from touchpoint.store.tables import campaign_spend

    row = {
        "date": date(2026, 3, 1),
        "campaign": "spring",
        "source": "google",
        "medium": "cpc",
        "channel": "ad",
        "amount": 120.5,
        "currency": "USD",
        "imported_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    with write_transaction(tp.engine) as conn:
        conn.execute(campaign_spend.insert().values(row))
    columnar.refresh(tp.settings)
    with write_transaction(tp.engine) as conn:
        conn.execute(update(campaign_spend).values(amount=99.0))
    columnar.refresh(tp.settings)
    con = columnar.connect_copy(columnar.copy_path(tp.settings), read_only=True)
    try:
        copied = con.execute("SELECT date, campaign, amount FROM spend").fetchall()
    finally:
        con.close()
    assert copied == [(date(2026, 3, 1), "spring", 99.0)]


def test_reused_transition_seqs_are_caught_by_the_fingerprint(sqlite_settings: Settings) -> None:
    """Without AUTOINCREMENT's counter SQLite hands a deleted top seq out again, so a rewrite can
    leave every seq at or below the copy's mark: the refresh compares (rows, sum of seq) with the
    system of record, read through DuckDB's scanner, and copies all transitions again."""
    tp = open_touchpoint(sqlite_settings)
    try:
        _ingest(tp, interaction(email="fi@example.com", at=0))
        _ingest(tp, interaction(type="purchase", email="gu@example.com", at=1, revenue=5.0))
        columnar.refresh(tp.settings)
        with write_transaction(tp.engine) as conn:
            top = conn.execute(select(func.max(stage_transitions.c.seq))).scalar_one()
            conn.execute(stage_transitions.delete().where(stage_transitions.c.seq == top))
            conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'stage_transitions'"))
        stats = columnar.refresh(tp.settings)
        assert stats.full_transitions
        copied = _copy(tp)
        assert top not in {seq for *_rest, seq in copied["moves"]}
        assert copied == _sor(tp)
    finally:
        tp.close()


def test_a_failed_refresh_is_one_line_backend_error(tp: Touchpoint) -> None:
    """A copy file DuckDB cannot open: on SQLite the refresh fails in the worker process, on
    PostgreSQL in this one; either way a BackendError (HTTP 503) with a one-line message."""
    _ingest(tp, interaction(email="ha@example.com", at=0))
    columnar.copy_path(tp.settings).write_bytes(b"not a DuckDB file\n" * 1000)
    with pytest.raises(BackendError) as failed:
        columnar.refresh(tp.settings)
    message = str(failed.value)
    assert failed.value.status_code == 503
    assert message.startswith("the analytics refresh failed: IO Error: ")
    assert "\n" not in message
    # The next refresh, once the file is gone, works again (a copy is only a cache).
    columnar.copy_path(tp.settings).unlink()
    assert columnar.refresh(tp.settings).interactions == 1


def test_a_missing_scanner_package_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="no_such_scanner is not installed"):
        scanner_extension("no_such_scanner", "sqlite_scanner")


def test_an_unchanged_system_of_record_is_not_copied_again(
    tp: Touchpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report on data that did not change since the last refresh starts no refresh (no worker
    process on SQLite); any change to what the copy mirrors makes the next one run."""
    _ingest(tp, interaction(email="jo@example.com", at=0))
    columnar.refresh(tp.settings)
    ran: list[str] = []
    worker, here = columnar.in_worker_process, columnar._refresh_here
    monkeypatch.setattr(columnar, "in_worker_process", lambda *a: ran.append("w") or worker(*a))
    monkeypatch.setattr(columnar, "_refresh_here", lambda *a: ran.append("h") or here(*a))
    skipped = columnar.refresh(tp.settings)
    assert ran == [] and skipped.interactions == 0
    _ingest(tp, interaction(type="purchase", email="jo@example.com", at=5, revenue=3.0))
    assert columnar.refresh(tp.settings).interactions == 1 and len(ran) == 1
    assert _copy(tp) == _sor(tp)
    columnar.refresh(tp.settings)
    assert len(ran) == 1  # nothing new again
    # A change that adds no log row: the lifecycle engine rewriting a customer's history.
    with write_transaction(tp.engine) as conn:
        rows = conn.execute(select(stage_transitions)).mappings().all()
        conn.execute(stage_transitions.delete())
        for row in rows:
            values = {k: v for k, v in row.items() if k != "seq"}
            conn.execute(stage_transitions.insert().values({**values, "reason": "rewritten"}))
    columnar.refresh(tp.settings)
    assert len(ran) == 2
    assert _copy(tp) == _sor(tp)
