"""Each condition of the rule language against a hand-built log (tests/segments/handlog.py),
on the system of record (SQLite and PostgreSQL) and on DuckDB: the members worked out by hand."""

from __future__ import annotations

import pytest

from tests.segments.handlog import NOW, duckdb_log, ingest_log
from touchpoint.analytics import segments as duck
from touchpoint.domain.segments import parse_rule
from touchpoint.runtime import Touchpoint
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection

# rule -> members, worked out by hand from the log's dates (NOW = 2026-06-15 12:00 UTC)
CASES = {
    # ann: purchases 10 and 80 days ago (and 100); bob's only one is 95 days ago
    "purchased >= 2 times in last 90 days": {"ann"},
    "purchased at least 3 times": {"ann"},
    "purchased 1+ times in the last 90 days": {"ann"},
    "purchased < 1 times in last 90 days": {"bob", "cat", "dan"},
    # bob: inbound support calls 1, 5 and 29 days ago (an outbound one and a sales one aside);
    # cat: 2 and 31 days ago
    "called support >= 3 times in 30 days": {"bob"},
    "called support >= 2 times in 30 days": {"bob"},
    "called support in last 3 days": {"bob", "cat"},
    "called >= 4 times in 30 days": {"bob"},
    # bob opened one 70 days ago, cat 3 days ago, ann and dan never
    "opened no email in 60 days": {"ann", "bob", "dan"},
    "opened email in last 60 days": {"cat"},
    "opened no email": {"ann", "dan"},
    'bought category "beans"': {"ann"},
    'bought category "tea" in last 90 days': set(),
    'bought category "tea"': {"bob"},
    # bob waited 400 s on June 2; cat 200 s this month and 500 s in May
    "waited over 5 minutes on a call this month": {"bob"},
    "waited over 3 minutes on a call this month": {"bob", "cat"},
    "waited over 5 minutes on a call in last 30 days": {"bob", "cat"},
    'did "page_view" ever': {"dan"},
    # traits (dan has no age: a comparison with it is false, its negation true)
    'age >= 34 and country = "FR"': {"ann"},
    'gender = "female" or age > 50': {"ann", "bob", "cat"},
    "not age > 40": {"ann", "cat", "dan"},
    'country in ("FR", "BE")': {"ann", "cat", "dan"},
    'language = fr and not income_band = "50-100k"': {"cat"},
    'occupation != "Nurse"': {"bob"},
    # consent in force: ann granted then unsubscribed, bob granted email, cat granted SMS
    "consent email": {"bob"},
    "consent sms": {"cat"},
    'consent email "newsletter"': set(),
    "unsubscribed email": {"ann"},
    "not unsubscribed email": {"bob", "cat", "dan"},
    "not consent email and opened no email in 60 days": {"ann", "dan"},
    # nesting
    "(purchased or called support) and not (consent email or consent sms)": {"ann"},
}


@pytest.fixture
def system(tp: Touchpoint) -> dict[str, str]:
    return ingest_log(tp)


def test_each_condition_on_the_system_of_record(tp: Touchpoint, system: dict[str, str]) -> None:
    by_id = {cid: who for who, cid in system.items()}
    some = {system["ann"], system["bob"]}
    wrong = {}
    with read_connection(tp.engine) as conn:
        for text, expected in CASES.items():
            found = {by_id[c] for c in store.evaluate(conn, parse_rule(text), NOW)}
            scoped = {by_id[c] for c in store.evaluate(conn, parse_rule(text), NOW, some)}
            counted = store.count(conn, parse_rule(text), NOW)
            if (found, scoped, counted) != (expected, expected & {"ann", "bob"}, len(expected)):
                wrong[text] = (found, scoped, counted)
    assert wrong == {}


def test_each_condition_on_duckdb() -> None:
    con = duckdb_log()
    wrong = {}
    for text, expected in CASES.items():
        found = duck.evaluate(con, parse_rule(text), NOW)
        scoped = duck.evaluate(con, parse_rule(text), NOW, {"cat", "dan"})
        counted = duck.count(con, parse_rule(text), NOW)
        if (found, scoped, counted) != (expected, expected & {"cat", "dan"}, len(expected)):
            wrong[text] = (found, scoped, counted)
    assert wrong == {}


def test_stage_condition_reads_the_lifecycle_stage(tp: Touchpoint, system: dict[str, str]) -> None:
    from sqlalchemy import select

    from touchpoint.store.tables import customer_stages

    with read_connection(tp.engine) as conn:
        query = select(customer_stages.c.customer_id, customer_stages.c.stage)
        stages = {row[0]: row[1] for row in conn.execute(query).all()}
        some = stages[system["ann"]]
        found = store.evaluate(conn, parse_rule(f"stage = {some}"), NOW)
        others = store.evaluate(conn, parse_rule(f"stage is {some} or stage in (nowhere)"), NOW)
    assert found == {cid for cid, stage in stages.items() if stage == some} == others
    con = duckdb_log({"ann": "loyalty", "bob": "at_risk", "cat": "loyalty"})
    assert duck.evaluate(con, parse_rule("stage = loyalty"), NOW) == {"ann", "cat"}
    assert duck.evaluate(con, parse_rule("stage in (at_risk, churned)"), NOW) == {"bob"}
    assert duck.evaluate(con, parse_rule("not stage = loyalty"), NOW) == {"bob", "dan"}
