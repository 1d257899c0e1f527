"""Erasure on both engines: nothing personal is left in any table row or (SQLite) any file of the
data directory, aggregates are what they were, and late events do not bring the person back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from tests.builders import interaction
from tests.privacy.people import (
    ANONYMOUS,
    BOB,
    EMAIL,
    ERASED,
    NAME,
    PHONE,
    PHONE_E164,
    ingest,
    populate,
)
from touchpoint.analytics.service import make_request, report_spec, run_report
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit, privacy
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, interactions, suppressed_identities


def channel_totals(tp: Touchpoint) -> dict[str, tuple[int, float]]:
    with read_connection(tp.engine) as conn:
        rows = conn.execute(
            select(
                interactions.c.channel,
                func.count(),
                func.coalesce(func.sum(interactions.c.revenue), 0.0),
            ).group_by(interactions.c.channel)
        )
        return {channel: (int(n), float(revenue)) for channel, n, revenue in rows}


def kpis(tp: Touchpoint) -> list[dict]:
    spec = report_spec("kpis")
    return run_report(tp.settings, "kpis", make_request(spec)).table.to_pylist()


def files_holding(data_dir: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """{file: the needles its bytes contain (any case)}, for every file under the data
    directory."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        body = path.read_bytes().lower()
        hits = [n for n in needles if n.lower().encode() in body]
        if hits:
            found[path.name] = hits
    return found


def rows_holding(tp: Touchpoint, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """{table: the needles some row of it contains, as text (any case)}, for every table."""
    found: dict[str, list[str]] = {}
    with read_connection(tp.engine) as conn:
        if conn.dialect.name == "postgresql":
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            as_text = 'SELECT CAST(t AS text) FROM "{}" t'
        else:
            tables = conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all()
            as_text = 'SELECT * FROM "{}"'
        for table in tables:
            rows = conn.execute(text(as_text.format(table)))
            body = " ".join(str(row) for row in rows).lower()
            hits = [n for n in needles if n.lower() in body]
            if hits:
                found[table] = hits
    return found


def test_erasure_leaves_no_row_holding_the_person(tp: Touchpoint) -> None:
    zelda = populate(tp)
    assert set(rows_holding(tp, ERASED)) >= {"customers", "identities", "interactions", "merges"}
    erased = privacy.erase(tp, zelda, actor="cli:dpo")
    assert erased.customer_id == zelda
    assert len(erased.customer_ids) == 2  # the signup's customer was merged into the first
    assert (erased.identities, erased.interactions, erased.merges) == (3, 8, 1)
    assert rows_holding(tp, ERASED) == {}
    assert BOB in str(rows_holding(tp, (BOB,)))  # the bystander is untouched


def test_erasure_leaves_no_file_in_the_data_directory_holding_the_person(
    sqlite_settings,
) -> None:
    from touchpoint.runtime import open_touchpoint

    tp = open_touchpoint(sqlite_settings)
    try:
        zelda = populate(tp)
        kpis(tp)  # the analytics copy now holds her too
        data_dir = sqlite_settings.data_dir
        before = files_holding(data_dir, ERASED)
        assert "analytics.duckdb" in before and any(n.startswith("touchpoint.db") for n in before)
        erased = privacy.erase(tp, zelda, actor="cli:dpo")
        assert erased.compacted is True and erased.residue == ()
        kpis(tp)  # the copy is rebuilt from the erased system of record
        assert (data_dir / "analytics.duckdb").exists()
        assert files_holding(data_dir, ERASED) == {}
        assert files_holding(data_dir, (BOB,))  # the bystander is still there
    finally:
        tp.close()


def test_aggregates_are_the_same_after_erasure(tp: Touchpoint) -> None:
    zelda = populate(tp)
    report_before = kpis(tp)
    # by hand (tests/privacy/people.py): web 6 with 150 net revenue, phone 2, email 2
    assert channel_totals(tp) == {"web": (6, 150.0), "phone": (2, 0.0), "email": (2, 0.0)}
    privacy.erase(tp, zelda, actor="cli:dpo")
    assert channel_totals(tp) == {"web": (6, 150.0), "phone": (2, 0.0), "email": (2, 0.0)}
    assert kpis(tp) == report_before
    with read_connection(tp.engine) as conn:
        kept = dict(
            conn.execute(
                select(interactions.c.id, interactions.c.properties).where(
                    interactions.c.id.in_(["z-3", "z-5", "z-6", "b-0"])
                )
            ).all()
        )
    # the survey's score and the unsubscribed list stay; the note and the comment go, and so
    # does the mention of her email in the bystander's purchase
    assert kept == {
        "z-3": {},
        "z-5": {"survey": "csat", "score": 4},
        "z-6": {"list": "newsletter"},
        "b-0": {"invite_code": "INV-7"},
    }


def test_a_late_event_naming_the_erased_person_is_rejected_not_stored(tp: Touchpoint) -> None:
    zelda = populate(tp)
    privacy.erase(tp, zelda, actor="cli:dpo")
    with read_connection(tp.engine) as conn:
        people = conn.scalar(select(func.count()).select_from(customers))
        suppressed = conn.scalar(select(func.count()).select_from(suppressed_identities))
        stored = list(conn.scalars(select(suppressed_identities.c.key_hash)))
    assert suppressed == 3  # anonymous id, email, phone: as hashes, never the values
    assert not any(EMAIL in h or PHONE_E164 in h for h in stored)
    late = ingest(
        tp,
        interaction(id="late-1", email=EMAIL.upper(), at=90),  # the same email, normalised
        interaction(id="late-2", phone="(646) 555-0177", type="call", channel="phone", at=91),
        interaction(id="late-3", anonymous_id=ANONYMOUS, email="new.address@example.net", at=92),
        interaction(id="late-4", email=BOB, at=93),
    )
    statuses = [(r.id, r.status) for r in late.results]
    assert statuses == [
        ("late-1", "rejected"),
        ("late-2", "rejected"),
        ("late-3", "rejected"),
        ("late-4", "accepted"),
    ]
    assert all("suppressed" in (r.reason or "") for r in late.results[:3])
    with read_connection(tp.engine) as conn:
        assert conn.scalar(select(func.count()).select_from(customers)) == people
        keys = set(conn.scalars(select(identities.c.key)))
        assert conn.scalar(select(func.count()).where(interactions.c.id.like("late-%"))) == 1
    assert keys == {f"email:{BOB}"}


def test_the_erasure_is_audited_without_the_erased_data(tp: Touchpoint) -> None:
    zelda = populate(tp)
    privacy.erase(tp, zelda, actor="cli:dpo")
    with read_connection(tp.engine) as conn:
        _total, entries = audit.entries(conn, action="customer.erase")
    (entry,) = entries
    assert (entry.actor, entry.subject) == ("cli:dpo", zelda)
    assert entry.detail == {
        "customers": 2,
        "identities": 3,
        "kinds": ["anonymous_id", "email", "phone"],
        "interactions": 8,
    }
    assert not any(n in str(entry.detail) for n in (EMAIL, PHONE, NAME))


def test_erasing_a_merged_away_id_erases_the_person_it_became(tp: Touchpoint) -> None:
    zelda = populate(tp)
    with read_connection(tp.engine) as conn:
        merged = conn.scalar(select(customers.c.id).where(customers.c.merged_into == zelda))
    erased = privacy.erase(tp, str(merged), actor="cli:dpo")
    assert erased.customer_id == zelda
    assert rows_holding(tp, ERASED) == {}


def test_erasing_twice_changes_nothing_more(tp: Touchpoint) -> None:
    zelda = populate(tp)
    privacy.erase(tp, zelda, actor="cli:dpo")
    totals = channel_totals(tp)
    again = privacy.erase(tp, zelda, actor="cli:dpo")
    assert (again.identities, again.interactions, again.residue) == (0, 8, ())
    assert channel_totals(tp) == totals
    with read_connection(tp.engine) as conn:
        assert conn.scalar(select(func.count()).select_from(suppressed_identities)) == 3
        total, _entries = audit.entries(conn, action="customer.erase")
    assert total == 2  # each erasure is on the trail
