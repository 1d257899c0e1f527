"""The two baselines bench/analytics.py times Touchpoint against, computing the same dashboard
(funnel, transitions, cohorts, composition, KPIs): hand-written DuckDB SQL (the limit) and pandas
(what an analyst would write)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

STAGES = ("reach", "acquisition", "conversion", "retention", "loyalty", "advocacy")
REACH_TYPES = ("ad_click", "page_view", "social_engagement")


def _rank_case(column: str) -> str:
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES))
    return f"CASE {column} {whens} END"


def sql_dashboard(con: duckdb.DuckDBPyConnection, at: datetime) -> dict[str, Any]:
    return {name: part(con, at) for name, part in SQL_REPORTS.items()}


def _now(at: datetime) -> str:
    return f"TIMESTAMP '{at.replace(tzinfo=None).isoformat(sep=' ')}'"


MONTH = "(year(occurred_at) * 12 + month(occurred_at) - 1)"


def _sql_funnel(con: duckdb.DuckDBPyConnection, at: datetime) -> list[Any]:
    entries = ", ".join(f'min("at") FILTER (WHERE r = {i}) AS e{i}' for i in range(len(STAGES)))
    reached = ", ".join(f"count(*) FILTER (WHERE top >= {i})" for i in range(len(STAGES)))
    medians = ", ".join(
        f"quantile_disc(epoch(e{i}) - epoch(e{i - 1}), 0.5)" for i in range(1, len(STAGES))
    )
    stage_list = ", ".join(f"'{s}'" for s in STAGES)
    return con.execute(
        f"""WITH m AS (SELECT customer_id, "at", {_rank_case("to_stage")} AS r FROM transitions
            WHERE "at" < {_now(at)} AND to_stage IN ({stage_list})),
        per AS (SELECT customer_id, max(r) AS top, {entries} FROM m GROUP BY customer_id)
        SELECT {reached}, {medians} FROM per"""
    ).fetchall()


def _sql_transitions(con: duckdb.DuckDBPyConnection, at: datetime) -> list[Any]:
    return con.execute(
        f"""SELECT coalesce(from_stage, '(start)'), to_stage, count(*), count(DISTINCT customer_id)
        FROM transitions WHERE "at" < {_now(at)} GROUP BY ALL"""
    ).fetchall()


def _sql_cohorts(con: duckdb.DuckDBPyConnection, at: datetime) -> list[Any]:
    return con.execute(
        f"""WITH money AS (SELECT customer_id, revenue, type = 'purchase' AS bought, {MONTH} AS m
            FROM interactions WHERE occurred_at < {_now(at)}
            AND (type = 'purchase' OR revenue IS NOT NULL)),
        first AS (SELECT customer_id, min(m) AS cohort FROM money WHERE bought GROUP BY 1)
        SELECT cohort, m - cohort AS period, count(DISTINCT customer_id) FILTER (WHERE bought),
            sum(revenue)
        FROM money JOIN first USING (customer_id) WHERE m >= cohort GROUP BY ALL"""
    ).fetchall()


def _sql_composition(con: duckdb.DuckDBPyConnection, at: datetime) -> list[Any]:
    """From the copy's monthly_activity (active months with the previous and next one linked)."""
    now = _now(at)
    return con.execute(
        f"""WITH w AS (SELECT p, prev_p AS prev,
            CASE WHEN next_first_at < {now} THEN next_p END AS nxt
            FROM monthly_activity WHERE first_at < {now})
        SELECT p, CASE WHEN prev IS NULL THEN 'new' WHEN prev = p - 1 THEN 'returning'
            ELSE 'resurrecting' END AS status, count(*) FROM w GROUP BY ALL
        UNION ALL
        SELECT p + 1, 'dormant', count(*) FROM w WHERE nxt IS NULL OR nxt <> p + 1 GROUP BY 1"""
    ).fetchall()


def _sql_kpis(con: duckdb.DuckDBPyConnection, at: datetime) -> list[Any]:
    """The same plan as Touchpoint's: one row per customer, then sums (the fastest SQL found).
    The log is scanned once per use rather than materialised (DuckDB materialises a CTE used more
    than once: a third of a second per 10M rows)."""
    now = _now(at)
    reach = ", ".join(f"'{t}'" for t in REACH_TYPES)
    top = ", ".join(f"'{s}'" for s in STAGES[-2:])
    contact = "type IN ('call', 'chat') AND direction = 'inbound'"
    return con.execute(
        f"""WITH t AS NOT MATERIALIZED (SELECT * FROM interactions WHERE occurred_at < {now}),
        sums AS (SELECT count(*) FILTER (WHERE type IN ({reach})) AS touches,
            count(*) FILTER (WHERE type = 'purchase') AS orders,
            sum(revenue) FILTER (WHERE type = 'purchase') AS order_revenue,
            sum(revenue) AS net_revenue, avg(csat) AS csat, count(nps) AS nps_n,
            count(*) FILTER (WHERE nps >= 9) AS promoters,
            count(*) FILTER (WHERE nps <= 6) AS detractors,
            avg(first_contact_resolution) FILTER (WHERE type = 'ticket_resolved') AS fcr,
            count(*) FILTER (WHERE {contact}) AS contacts,
            count(*) FILTER (WHERE {contact} AND outcome = 'answered') AS answered,
            avg(duration_s) FILTER (WHERE {contact} AND outcome = 'answered') AS handle_s,
            count(*) FILTER (WHERE type = 'referral') AS referrals,
            count(*) FILTER (WHERE type = 'review') AS reviews FROM t),
        per AS (SELECT customer_id,
            count(*) FILTER (WHERE type IN ({reach})) AS touches,
            count(*) FILTER (WHERE type IN ('signup', 'lead_form')) AS leads,
            count(*) FILTER (WHERE direction = 'inbound') AS active,
            count(*) FILTER (WHERE type = 'purchase') AS orders,
            sum(revenue) AS net_revenue,
            count(*) FILTER (WHERE type = 'referral') AS referrals
            FROM t GROUP BY customer_id),
        latest AS (SELECT customer_id, arg_max(to_stage, ("at", seq)) AS stage
            FROM transitions WHERE "at" < {now} GROUP BY 1),
        carts AS (SELECT seq, customer_id, occurred_at FROM t WHERE type = 'cart_abandoned'),
        recovered AS (SELECT DISTINCT c.seq FROM carts c
            JOIN (SELECT customer_id, occurred_at FROM t WHERE type = 'purchase') b
            USING (customer_id)
            WHERE b.occurred_at > c.occurred_at
              AND epoch(b.occurred_at) - epoch(c.occurred_at) <= 7 * 86400),
        people AS (SELECT count(*) FILTER (WHERE touches > 0) AS reached,
            count(*) FILTER (WHERE leads > 0) AS leads,
            count(*) FILTER (WHERE leads > 0 AND orders > 0) AS leads_won,
            count(*) FILTER (WHERE active > 0) AS active,
            count(*) FILTER (WHERE orders > 0) AS purchasers,
            count(*) FILTER (WHERE orders >= 2) AS repeaters,
            sum(net_revenue) FILTER (WHERE stage IN ({top})) AS loyal_revenue,
            count(*) FILTER (WHERE referrals > 0) AS referrers
            FROM per LEFT JOIN latest USING (customer_id))
        SELECT sums.orders, sums.*, people.*,
            (SELECT count(*) FROM carts) AS carts, (SELECT count(*) FROM recovered) AS recovered
        FROM sums, people"""
    ).fetchall()


SQL_REPORTS: dict[str, Callable[[duckdb.DuckDBPyConnection, datetime], list[Any]]] = {
    "funnel": _sql_funnel,
    "transitions": _sql_transitions,
    "cohorts": _sql_cohorts,
    "composition": _sql_composition,
    "kpis": _sql_kpis,
}


def load_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The tables an analyst would pull into pandas (not timed)."""
    log = con.execute(
        "SELECT seq, customer_id, occurred_at, direction, type, revenue, csat, nps, outcome, "
        "duration_s, first_contact_resolution FROM interactions"
    ).df()
    moves = con.execute('SELECT seq, customer_id, from_stage, to_stage, "at" FROM transitions').df()
    return {"log": log, "moves": moves}


def pandas_dashboard(frames: dict[str, pd.DataFrame], at: datetime) -> dict[str, Any]:
    return {name: part(frames, at) for name, part in PANDAS_REPORTS.items()}


def _until(frames: dict[str, pd.DataFrame], at: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    now = pd.Timestamp(at.replace(tzinfo=None))
    log, moves = frames["log"], frames["moves"]
    return log[log["occurred_at"] < now], moves[moves["at"] < now]


def _pd_transitions(moves: pd.DataFrame) -> pd.DataFrame:
    return (
        moves.fillna({"from_stage": "(start)"})
        .groupby(["from_stage", "to_stage"])
        .agg(n=("seq", "size"), customers=("customer_id", "nunique"))
    )


PANDAS_REPORTS: dict[str, Callable[[dict[str, pd.DataFrame], datetime], Any]] = {
    "funnel": lambda f, at: _pd_funnel(_until(f, at)[1]),
    "transitions": lambda f, at: _pd_transitions(_until(f, at)[1]),
    "cohorts": lambda f, at: _pd_cohorts(_until(f, at)[0]),
    "composition": lambda f, at: _pd_composition(_until(f, at)[0]),
    "kpis": lambda f, at: _pd_kpis(*_until(f, at)),
}


def _pd_funnel(moves: pd.DataFrame) -> Any:
    prog = moves[moves["to_stage"].isin(STAGES)].copy()
    prog["rank"] = prog["to_stage"].map({s: i for i, s in enumerate(STAGES)})
    top = prog.groupby("customer_id")["rank"].max()
    reached = [int((top >= i).sum()) for i in range(len(STAGES))]
    entries = prog.groupby(["customer_id", "rank"])["at"].min().unstack()
    medians = [
        (entries[i] - entries[i - 1]).dt.total_seconds().median() for i in range(1, len(STAGES))
    ]
    return reached, medians


def _pd_cohorts(log: pd.DataFrame) -> pd.DataFrame:
    money = log[(log["type"] == "purchase") | log["revenue"].notna()].copy()
    money["month"] = money["occurred_at"].dt.year * 12 + money["occurred_at"].dt.month - 1
    first = money[money["type"] == "purchase"].groupby("customer_id")["month"].min()
    money = money.join(first.rename("cohort"), on="customer_id", how="inner")
    money["period"] = money["month"] - money["cohort"]
    money = money[money["period"] >= 0]
    buyers = money[money["type"] == "purchase"].groupby(["cohort", "period"])["customer_id"]
    return pd.DataFrame(
        {
            "customers": buyers.nunique(),
            "revenue": money.groupby(["cohort", "period"])["revenue"].sum(),
        }
    )


def _pd_composition(log: pd.DataFrame) -> pd.DataFrame:
    inbound = log[log["direction"] == "inbound"]
    months = inbound["occurred_at"].dt.year * 12 + inbound["occurred_at"].dt.month - 1
    pairs = (
        pd.DataFrame({"customer_id": inbound["customer_id"], "p": months})
        .drop_duplicates()
        .sort_values(["customer_id", "p"])
    )
    by = pairs.groupby("customer_id")["p"]
    pairs["prev"], pairs["next"] = by.shift(1), by.shift(-1)
    pairs["status"] = np.where(
        pairs["prev"].isna(),
        "new",
        np.where(pairs["prev"] == pairs["p"] - 1, "returning", "resurrecting"),
    )
    here = pairs.groupby(["p", "status"]).size()
    gone = pairs[pairs["next"].isna() | (pairs["next"] != pairs["p"] + 1)]
    dormant = (gone["p"] + 1).value_counts()
    return pd.concat([here.rename("n").reset_index(), dormant.rename("dormant").reset_index()])


def _pd_kpis(log: pd.DataFrame, moves: pd.DataFrame) -> dict[str, Any]:
    buy = log["type"] == "purchase"
    reach = log["type"].isin(REACH_TYPES)
    lead = log["type"].isin(["signup", "lead_form"])
    contact = log["type"].isin(["call", "chat"]) & (log["direction"] == "inbound")
    answered = contact & (log["outcome"] == "answered")
    buyers = set(log.loc[buy, "customer_id"])
    leads = set(log.loc[lead, "customer_id"])
    carts = log[log["type"] == "cart_abandoned"][["seq", "customer_id", "occurred_at"]]
    pairs = carts.merge(log.loc[buy, ["customer_id", "occurred_at"]], on="customer_id")
    gap = (pairs["occurred_at_y"] - pairs["occurred_at_x"]).dt.total_seconds()
    recovered = pairs.loc[(gap > 0) & (gap <= 7 * 86_400), "seq"].nunique()
    per = log[buy].groupby("customer_id").size()
    latest = moves.sort_values(["customer_id", "at", "seq"]).groupby("customer_id").tail(1)
    loyal = set(latest.loc[latest["to_stage"].isin(STAGES[-2:]), "customer_id"])
    return {
        "touches": int(reach.sum()),
        "reached": log.loc[reach, "customer_id"].nunique(),
        "leads": len(leads),
        "leads_won": len(leads & buyers),
        "active": log.loc[log["direction"] == "inbound", "customer_id"].nunique(),
        "purchasers": len(buyers),
        "orders": int(buy.sum()),
        "aov": log.loc[buy, "revenue"].mean(),
        "net_revenue": log["revenue"].sum(),
        "csat": log["csat"].mean(),
        "nps": 100 * ((log["nps"] >= 9).sum() - (log["nps"] <= 6).sum()) / log["nps"].count(),
        "answer_rate": answered.sum() / contact.sum(),
        "handle_s": log.loc[answered, "duration_s"].mean(),
        "carts_recovered": recovered / max(len(carts), 1),
        "repeat": (per >= 2).sum() / len(per),
        "referrers": log.loc[log["type"] == "referral", "customer_id"].nunique(),
        "loyal_revenue": log.loc[log["customer_id"].isin(loyal), "revenue"].sum(),
    }
