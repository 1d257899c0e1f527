"""A hand-built log for segment tests: four customers whose memberships are worked out by hand
in each test, loaded into the system of record (through ingest) or straight into DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from touchpoint.analytics import segments as duck
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.store.engine import read_connection

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday; "this month" starts on June 1
DAYS = timedelta(days=1)

TRAITS = {
    "ann": {
        "age": 34,
        "gender": "female",
        "country": "FR",
        "language": "fr",
        "income_band": "50-100k",
        "occupation": "Nurse",
    },
    "bob": {
        "age": 51,
        "gender": "male",
        "country": "DE",
        "language": "de",
        "income_band": "150k+",
        "occupation": "Pilot",
    },
    "cat": {"age": 28, "gender": "female", "country": "BE", "language": "fr"},
    "dan": {"country": "FR"},
}

# (who, type, when, extra fields)
LOG: list[tuple[str, str, datetime, dict[str, Any]]] = [
    ("ann", "purchase", NOW - 10 * DAYS, {"properties": {"category": "beans"}}),
    ("ann", "purchase", NOW - 80 * DAYS, {}),
    ("ann", "purchase", NOW - 100 * DAYS, {}),
    ("ann", "consent_granted", NOW - 20 * DAYS, {"channel": "email"}),
    ("ann", "unsubscribe", NOW - 5 * DAYS, {"channel": "email"}),
    ("bob", "purchase", NOW - 95 * DAYS, {"properties": {"category": "tea"}}),
    ("bob", "call", NOW - 1 * DAYS, {"channel": "phone", "queue": "support"}),
    ("bob", "call", NOW - 5 * DAYS, {"channel": "phone", "queue": "support"}),
    ("bob", "call", NOW - 29 * DAYS, {"channel": "phone", "queue": "support"}),
    ("bob", "call", NOW - 2 * DAYS, {"channel": "phone", "queue": "sales"}),
    ("bob", "email_opened", NOW - 70 * DAYS, {"channel": "email"}),
    (
        "bob",
        "call",
        NOW - 13 * DAYS,
        {"channel": "phone", "queue": "support", "direction": "outbound"},
    ),
    (
        "bob",
        "call",
        datetime(2026, 6, 2, 9, tzinfo=UTC),
        {"channel": "phone", "queue": "sales", "properties": {"wait_s": 400}},
    ),
    ("bob", "consent_granted", NOW - 40 * DAYS, {"channel": "email"}),
    ("cat", "email_opened", NOW - 3 * DAYS, {"channel": "email"}),
    (
        "cat",
        "call",
        NOW - 2 * DAYS,
        {"channel": "phone", "queue": "support", "properties": {"wait_s": 200}},
    ),
    ("cat", "call", NOW - 31 * DAYS, {"channel": "phone", "queue": "support"}),
    (
        "cat",
        "call",
        datetime(2026, 5, 20, 9, tzinfo=UTC),
        {"channel": "phone", "properties": {"wait_s": 500}},
    ),
    ("cat", "consent_granted", NOW - 9 * DAYS, {"channel": "sms"}),
    ("dan", "page_view", NOW - 300 * DAYS, {}),
]


def email(who: str) -> str:
    return f"{who}@example.com"


def items() -> list[dict[str, Any]]:
    out = []
    for n, (who, type_, at, extra) in enumerate(LOG):
        item = {
            "id": f"hand-{n}",
            "type": type_,
            "channel": extra.get("channel", "web"),
            "occurred_at": at.isoformat(),
            "customer": {"email": email(who)},
            **{k: v for k, v in extra.items() if k != "channel"},
        }
        if n == next(i for i, e in enumerate(LOG) if e[0] == who):
            item["traits"] = TRAITS[who]
        out.append(item)
    return out


def ingest_log(tp: Touchpoint) -> dict[str, str]:
    """The log through ingest; returns {who: customer id}."""
    report = tp.ingestor.ingest(enumerate(items()))
    assert not report.rejected, report.rejected
    with read_connection(tp.engine) as conn:
        ids = {}
        for who in TRAITS:
            _, found = find_customers(conn, lookup_keys(email=email(who)))
            ids[who] = found[0].id
    return ids


def duckdb_log(stages: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """The same log straight into DuckDB's segment tables (ids: the names)."""
    con = duckdb.connect()
    duck.create_tables(con)
    for who, traits in TRAITS.items():
        con.execute(
            "INSERT INTO seg_people VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                who,
                traits.get("age"),
                *(
                    traits.get(t)
                    for t in ("gender", "income_band", "occupation", "country", "language")
                ),
            ],
        )
    for n, (who, type_, at, extra) in enumerate(LOG):
        naive = at.astimezone(UTC).replace(tzinfo=None)
        props = extra.get("properties", {})
        if type_ in ("consent_granted", "unsubscribe"):
            status = "granted" if type_ == "consent_granted" else "withdrawn"
            con.execute(
                "INSERT INTO seg_consent VALUES (?, ?, 'marketing', ?, ?, ?, ?)",
                [who, extra["channel"], status, naive, naive, f"hand-{n}"],
            )
        con.execute(
            "INSERT INTO seg_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                who,
                naive,
                type_,
                extra.get("direction", "inbound"),
                extra.get("queue"),
                props.get("category"),
                props.get("wait_s"),
            ],
        )
    for who, stage in (stages or {}).items():
        con.execute("INSERT INTO seg_stages VALUES (?, ?)", [who, stage])
    return con
