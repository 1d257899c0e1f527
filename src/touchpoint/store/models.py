"""Predictive score models' tables: the versions trained (model_versions) and each customer's
latest prediction per model (model_scores)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.engine import RowMapping

from touchpoint.store.tables import customer_scores, model_scores, model_versions, score_points

SCORE_BATCH = 5_000


def next_version(conn: Connection, name: str) -> int:
    latest = conn.execute(
        select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
    ).scalar()
    return int(latest or 0) + 1


def add_version(conn: Connection, **values: Any) -> None:
    conn.execute(insert(model_versions).values(values))


def versions(conn: Connection, name: str | None = None) -> list[RowMapping]:
    """Every version (of `name`, or of every model), newest first within each name."""
    query = select(model_versions).order_by(model_versions.c.name, model_versions.c.version.desc())
    if name is not None:
        query = query.where(model_versions.c.name == name)
    return list(conn.execute(query).mappings())


def version(conn: Connection, name: str, number: int | None = None) -> RowMapping | None:
    """One version of `name`: `number`, else the latest."""
    query = select(model_versions).where(model_versions.c.name == name)
    if number is not None:
        query = query.where(model_versions.c.version == number)
    query = query.order_by(model_versions.c.version.desc()).limit(1)
    return conn.execute(query).mappings().first()


def replace_scores(conn: Connection, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """The model's scores become `rows` (customer_id, version, probability, reasons, scored_at)."""
    conn.execute(delete(model_scores).where(model_scores.c.model == name))
    for start in range(0, len(rows), SCORE_BATCH):
        batch = [{"model": name, **row} for row in rows[start : start + SCORE_BATCH]]
        conn.execute(insert(model_scores), batch)


def scores_of(conn: Connection, customer_id: str) -> list[RowMapping]:
    query = (
        select(model_scores)
        .where(model_scores.c.customer_id == customer_id)
        .order_by(model_scores.c.model)
    )
    return list(conn.execute(query).mappings())


def score_summary(conn: Connection, name: str) -> tuple[int, float | None, datetime | None]:
    """How many customers the model scored, their mean probability, and as of when."""
    row = conn.execute(
        select(
            func.count(),
            func.avg(model_scores.c.probability),
            func.max(model_scores.c.scored_at),
        ).where(model_scores.c.model == name)
    ).one()
    return int(row[0]), None if row[1] is None else float(row[1]), row[2]


def top_scores(conn: Connection, name: str, limit: int) -> list[RowMapping]:
    query = (
        select(model_scores)
        .where(model_scores.c.model == name)
        .order_by(model_scores.c.probability.desc(), model_scores.c.customer_id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def score_awards(
    conn: Connection, score_model: str
) -> tuple[list[tuple[str, datetime, float]], float | None]:
    """The rule-based score `score_model`'s awards (customer_id, at, points as given) and its
    half-life in seconds (None: no decay): what a score as of any past moment is summed from."""
    t = score_points.c
    awards = conn.execute(select(t.customer_id, t.at, t.points).where(t.model == score_model)).all()
    half_life = conn.execute(
        select(func.max(customer_scores.c.half_life_s)).where(
            customer_scores.c.model == score_model
        )
    ).scalar()
    return [tuple(row) for row in awards], None if half_life is None else float(half_life)  # type: ignore[misc]
