"""Synthetic data for bench/analytics.py: an interaction log and stage transitions generated with
numpy straight into the columnar copy (DuckDB), not through the ingest path. Customer n is
`cus_n` in the system of record and key n + 1 in the copy (customer_keys maps one to the other)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from touchpoint.analytics import columnar

END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_DAYS = 540
DAY_US = 86_400_000_000

# (type, channel, direction, weight)
MIX = (
    ("page_view", "web", "inbound", 30),
    ("email_sent", "email", "outbound", 14),
    ("email_opened", "email", "inbound", 8),
    ("ad_click", "ad", "inbound", 6),
    ("product_viewed", "web", "inbound", 8),
    ("purchase", "web", "inbound", 9),
    ("cart_abandoned", "web", "inbound", 3),
    ("signup", "web", "inbound", 3),
    ("call", "phone", "inbound", 4),
    ("chat", "chat", "inbound", 3),
    ("survey_response", "email", "inbound", 3),
    ("ticket_opened", "email", "inbound", 2),
    ("ticket_resolved", "email", "inbound", 2),
    ("refund", "web", "inbound", 1),
    ("referral", "web", "inbound", 1),
    ("review", "web", "inbound", 1),
    ("social_engagement", "social", "inbound", 2),
)
STAGES = ("reach", "acquisition", "conversion", "retention", "loyalty", "advocacy")
TOP_STAGE_P = (0.40, 0.22, 0.16, 0.11, 0.08, 0.03)
CAMPAIGNS = tuple(f"campaign-{i:02d}" for i in range(20))
SEGMENTS = ("consumer", "smb", "enterprise", "vip", "trial")
COUNTRIES = ("US", "CA", "DE", "FR", "ES", "GB")


def _naive_end() -> datetime:
    return END.replace(tzinfo=None)


def _dict(codes: np.ndarray, values: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))


def _times(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"))


def customer_starts(rng: np.random.Generator, customers: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's first-seen time (µs since epoch) and how long they stay active."""
    end_us = _epoch_us(_naive_end())
    start_us = end_us - SPAN_DAYS * DAY_US
    first = start_us + (rng.random(customers) * (end_us - start_us - DAY_US)).astype(np.int64)
    life = (rng.exponential(150, customers) * DAY_US).astype(np.int64)
    life = np.minimum(life, end_us - first - 1)
    return first, np.maximum(life, 1)


def _epoch_us(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds()) * 1_000_000  # noqa: DTZ001


def interactions_table(
    rng: np.random.Generator, n: int, first: np.ndarray, life: np.ndarray, seq_start: int = 1
) -> pa.Table:
    customers = len(first)
    counts = 1 + rng.multinomial(n - customers, np.full(customers, 1 / customers))
    who = np.repeat(np.arange(customers, dtype=np.int64), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    at = first[who] + (rng.random(n) * life[who]).astype(np.int64)
    at[offsets] = first  # the first interaction is the customer's first-seen moment
    weights = np.array([m[3] for m in MIX], dtype=float)
    kind = rng.choice(len(MIX), n, p=weights / weights.sum())
    kind[offsets] = 0  # ... and a page view
    types = tuple(m[0] for m in MIX)
    channels = tuple(sorted({m[1] for m in MIX}))
    channel_of = np.array([channels.index(m[1]) for m in MIX])
    outbound = np.array([m[2] == "outbound" for m in MIX])
    is_ = {t: kind == i for i, t in enumerate(types)}
    revenue = np.round(rng.lognormal(3.6, 0.6, n), 2)
    revenue = np.where(is_["refund"], -revenue / 2, revenue)
    has_revenue = is_["purchase"] | is_["refund"]
    touch = is_["ad_click"] | (is_["page_view"] & (rng.random(n) < 0.3))
    survey = is_["survey_response"]
    csat_q = survey & (rng.random(n) < 0.5)
    contact = is_["call"] | is_["chat"]
    answered = contact & (rng.random(n) < 0.8)
    return pa.table(
        {
            "seq": pa.array(np.arange(seq_start, seq_start + n, dtype=np.int64)),
            "cust": pa.array(who),
            "occurred_at": _times(at),
            "channel": _dict(channel_of[kind], channels),
            "direction": _dict(outbound[kind].astype(np.int32), ("inbound", "outbound")),
            "type": _dict(kind, types),
            "campaign": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, len(CAMPAIGNS), n).astype(np.int32), mask=~touch),
                pa.array(CAMPAIGNS),
            ),
            "duration_s": pa.array(rng.exponential(400, n).round(), mask=~contact),
            "outcome": pa.DictionaryArray.from_arrays(
                pa.array(answered.astype(np.int32), mask=~contact),
                pa.array(("abandoned", "answered")),
            ),
            "revenue": pa.array(revenue, mask=~has_revenue),
            "csat": pa.array(rng.integers(1, 6, n).astype(float), mask=~csat_q),
            "nps": pa.array(rng.integers(0, 11, n).astype(float), mask=~(survey & ~csat_q)),
        }
    )


INSERT_INTERACTIONS = """
INSERT INTO interactions
SELECT seq, 'evt-' || seq, cust + 1, occurred_at, channel::VARCHAR, direction::VARCHAR,
    type::VARCHAR, NULL, CASE WHEN campaign IS NOT NULL THEN 'google' END,
    CASE WHEN campaign IS NOT NULL THEN 'cpc' END, campaign::VARCHAR, NULL, NULL, NULL, NULL,
    duration_s, outcome::VARCHAR, revenue, CASE WHEN revenue IS NOT NULL THEN 'USD' END,
    csat, nps, NULL, NULL, NULL, NULL, NULL, '{}'
FROM synth
"""


def transitions_table(
    rng: np.random.Generator, first: np.ndarray, life: np.ndarray, seq_start: int = 1
) -> pa.Table:
    customers = len(first)
    top = rng.choice(len(STAGES), customers, p=TOP_STAGE_P)
    n_prog = top + 1
    who = np.repeat(np.arange(customers, dtype=np.int64), n_prog)
    offsets = np.concatenate(([0], np.cumsum(n_prog)[:-1]))
    step = np.arange(len(who)) - np.repeat(offsets, n_prog)
    gaps = (rng.exponential(0.12, len(who)) * life[who]).astype(np.int64)
    gaps[offsets] = 0
    cum = np.cumsum(gaps)
    at = first[who] + cum - np.repeat(cum[offsets], n_prog)
    at = np.minimum(at, first[who] + life[who])
    # Overlays: some customers who bought fall at risk after their last move; half of those churn.
    last = offsets + n_prog - 1
    risky = (top >= 2) & (rng.random(customers) < 0.25)
    churn = risky & (rng.random(customers) < 0.5)
    end_us = _epoch_us(_naive_end()) - 1
    risk_at = np.minimum(at[last] + 30 * DAY_US, end_us)
    churn_at = np.minimum(risk_at + 60 * DAY_US, end_us)
    names = STAGES + ("at_risk", "churned")
    from_code = np.concatenate(
        [np.where(step == 0, -1, step - 1), top[risky], np.full(churn.sum(), 6)]
    )
    to_code = np.concatenate([step, np.full(risky.sum(), 6), np.full(churn.sum(), 7)])
    whom = np.concatenate([who, np.flatnonzero(risky), np.flatnonzero(churn)])
    when = np.concatenate([at, risk_at[risky], churn_at[churn]])
    n = len(whom)
    return pa.table(
        {
            "seq": pa.array(np.arange(seq_start, seq_start + n, dtype=np.int64)),
            "cust": pa.array(whom),
            "from_stage": pa.DictionaryArray.from_arrays(
                pa.array(np.maximum(from_code, 0).astype(np.int32), mask=from_code < 0),
                pa.array(names),
            ),
            "to_stage": _dict(to_code, names),
            "at": _times(when),
        }
    )


INSERT_TRANSITIONS = """
INSERT INTO transitions
SELECT seq, cust + 1, from_stage::VARCHAR, to_stage::VARCHAR, "at", NULL, 'synthetic'
FROM synth_moves
"""


def customers_table(rng: np.random.Generator, first: np.ndarray) -> pa.Table:
    n = len(first)
    return pa.table(
        {
            "cust": pa.array(np.arange(n, dtype=np.int64)),
            "created_at": _times(first),
            "segment": _dict(rng.integers(0, len(SEGMENTS), n), SEGMENTS),
            "country": _dict(rng.integers(0, len(COUNTRIES), n), COUNTRIES),
        }
    )


INSERT_CUSTOMERS = """
INSERT INTO customers SELECT cust + 1, created_at, segment::VARCHAR, country::VARCHAR
FROM synth_people;
INSERT INTO customer_keys SELECT cust + 1, 'cus_' || cust FROM synth_people
"""


def synthesize(con: duckdb.DuckDBPyConnection, *, n: int, customers: int, seed: int) -> None:
    """Fill the copy's interactions, transitions and customers tables."""
    rng = np.random.default_rng(seed)
    first, life = customer_starts(rng, customers)
    for name, table, sql in (
        ("synth", interactions_table(rng, n, first, life), INSERT_INTERACTIONS),
        ("synth_moves", transitions_table(rng, first, life), INSERT_TRANSITIONS),
        ("synth_people", customers_table(rng, first), INSERT_CUSTOMERS),
    ):
        con.register(name, table)
        con.execute(sql)
        con.unregister(name)
    columnar.derive_from_log(con)


def at_moment() -> datetime:
    """The "now" of the benchmark's reports."""
    return END + timedelta(seconds=0)
