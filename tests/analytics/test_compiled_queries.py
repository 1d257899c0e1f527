"""Reports' queries compiled once per shape (analytics.compiled): a later run of the same query
for other moments binds them to the SQL compiled the first time, and answers what Ibis' own
compilation answers for those moments. Counts by hand over five events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import ibis
import pyarrow as pa
import pytest

from touchpoint.analytics import compiled


def moment(*parts: int) -> datetime:
    """A UTC moment as the columnar copy holds it (naive)."""
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)  # type: ignore[misc]


EVENTS = pa.table(
    {
        "at": pa.array([moment(2026, 1, d, 12) for d in (1, 5, 10, 20, 31)], pa.timestamp("us")),
        "day": pa.array([date(2026, 1, d) for d in (1, 5, 10, 20, 31)], pa.date32()),
        "kind": ["call", "email", "call", "call", "chat"],
    }
)


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(compiled, "_compiled", type(compiled._compiled)())
    made: list[str] = []
    real = compiled._compile

    def counted(*args: Any) -> str:
        sql = real(*args)
        made.append(sql)
        return sql

    monkeypatch.setattr(compiled, "_compile", counted)
    return made


def _duckdb() -> tuple[Any, ibis.Table]:
    con = ibis.duckdb.connect()
    con.con.register("events", EVENTS)  # Ibis 10 create_table: a DuckDB parser error here
    return con, con.table("events")


def _calls_between(table: ibis.Table, start: datetime, end: datetime) -> ibis.Table:
    kept = table.filter((table.at >= start) & (table.at < end) & (table.kind == "call"))
    return kept.aggregate(calls=kept.count())


def test_one_compilation_serves_every_moment(compilations: list[str]) -> None:
    con, events = _duckdb()
    asked = [
        (moment(2026, 1, 1), moment(2026, 2, 1), 3),  # days 1, 10, 20
        (moment(2026, 1, 2), moment(2026, 1, 20), 1),  # day 10 (the 20th at noon is out)
        (moment(2026, 1, 10, 12), moment(2026, 1, 20, 12, 0, 0, 1), 2),  # both edges in
        (moment(2026, 3, 1), moment(2026, 4, 1), 0),
    ]
    for start, end, calls in asked:
        answer = compiled.to_arrow(con, _calls_between(events, start, end))
        assert answer.to_pylist() == [{"calls": calls}], (start, end)
    assert len(compilations) == 1
    assert "$t0" in compilations[0] and "$t1" in compilations[0]
    assert "2026" not in compilations[0]  # no moment written into the SQL


def test_equal_moments_are_another_shape_and_other_literals_stay_in_the_key(
    compilations: list[str],
) -> None:
    con, events = _duckdb()
    same = moment(2026, 1, 5, 12)
    empty = compiled.to_arrow(con, _calls_between(events, same, same))
    assert empty.to_pylist() == [{"calls": 0}]
    assert len(compilations) == 1 and "$t1" not in compilations[0]  # one moment, one parameter
    spread = compiled.to_arrow(con, _calls_between(events, same, moment(2026, 1, 31)))
    assert spread.to_pylist() == [{"calls": 2}]  # days 10 and 20
    emails = events.filter((events.at >= same) & (events.kind == "email"))
    assert compiled.to_arrow(con, emails.count()).as_py() == 1
    chats = events.filter((events.at >= same) & (events.kind == "chat"))
    assert compiled.to_arrow(con, chats.count()).as_py() == 1
    assert len(compilations) == 4  # the kind is part of the query, not a parameter


def test_dates_are_parameters_too(compilations: list[str]) -> None:
    con, events = _duckdb()
    for since, expected in ((date(2026, 1, 5), 4), (date(2026, 1, 21), 1), (date(2026, 2, 1), 0)):
        kept = events.filter(events.day >= since)
        assert compiled.to_arrow(con, kept.count()).as_py() == expected, since
    assert len(compilations) == 1


def test_sql_duckdb_refuses_runs_as_ibis_compiles_it_and_is_not_tried_again(
    compilations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    con, events = _duckdb()
    tried: list[int] = []

    def broken(*_args: Any) -> str:
        tried.append(1)
        return "SELECT calls FROM no_such_table WHERE $t0 < $t1"

    monkeypatch.setattr(compiled, "_compile", broken)
    for start, calls in ((moment(2026, 1, 1), 3), (moment(2026, 1, 15), 1)):
        answer = compiled.to_arrow(con, _calls_between(events, start, moment(2026, 2, 1)))
        assert answer.to_pylist() == [{"calls": calls}]
    assert tried == [1]


def test_other_backends_run_as_ibis_runs_them(compilations: list[str]) -> None:
    con = ibis.sqlite.connect()
    con.con.execute("CREATE TABLE events (at TIMESTAMP, kind TEXT)")
    con.con.executemany(
        "INSERT INTO events VALUES (?, ?)",
        [(r["at"].isoformat(" "), r["kind"]) for r in EVENTS.to_pylist()],
    )
    events = con.table("events")
    answer = compiled.to_arrow(con, _calls_between(events, moment(2026, 1, 2), moment(2026, 2, 1)))
    assert answer.to_pylist() == [{"calls": 2}]
    assert compilations == []
