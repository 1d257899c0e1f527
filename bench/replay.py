"""Claim: the lifecycle replay folds ≥ 1,000,000 interactions/s through the default stage model.

    uv run python bench/replay.py [--n 10000000] [--customers 250000] [--stored 2000000]

Generates a log with the demo's mix of interactions (emails sent and opened, page views, ads,
carts, purchases, refunds, tickets, surveys, reviews, referrals, cancellations) and its density
(~40 interactions per customer, as `touchpoint demo` simulates; `--customers` changes it — fewer
interactions per customer means more stage moves per interaction and a slower fold), and times,
in the same run:
  1. Touchpoint's replay (`replay_log`: vectorised pre-pass + fold over the interactions that can
     move a stage) on the whole log in memory;
  2. the baseline: the plain fold (`StageEngine.advance`) over every interaction of the same log;
  3. end to end on the embedded default: `touchpoint lifecycle replay` on a SQLite data directory
     holding `--stored` interactions (read the log, fold, write stages and transitions).
Not timed: generating the data, building the baseline's Python tuples, writing the SQLite log.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from touchpoint.domain.stage_engine import Event, StageEngine, StageState
from touchpoint.domain.stage_replay import LOG_SCHEMA, replay_log
from touchpoint.lifecycle.model import load_model
from touchpoint.perf import without_cycle_collection
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

DAY = 86_400
START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
NPS = [f'{{"survey": "nps", "score": {s}}}' for s in range(11)]
CSAT = [f'{{"survey": "csat", "score": {s}}}' for s in range(1, 6)]
# (weight, type, channel, direction) — roughly the demo business's mix
MIX = (
    (36, "email_sent", "email", "outbound"),
    (22, "page_view", "web", "inbound"),
    (12, "email_opened", "email", "inbound"),
    (6, "ad_impression", "ad", "inbound"),
    (4, "purchase", "web", "inbound"),
    (3, "email_clicked", "email", "inbound"),
    (2.5, "product_viewed", "web", "inbound"),
    (2.5, "cart_added", "web", "inbound"),
    (2, "ad_click", "ad", "inbound"),
    (1.5, "checkout_started", "web", "inbound"),
    (1.5, "sms_sent", "sms", "outbound"),
    (1.2, "survey_response", "email", "inbound"),
    (1, "call", "phone", "inbound"),
    (1, "signup", "web", "inbound"),
    (0.8, "chat", "chat", "inbound"),
    (0.8, "ticket_opened", "email", "inbound"),
    (0.7, "ticket_resolved", "email", "outbound"),
    (0.3, "refund", "web", "inbound"),
    (0.3, "review", "web", "inbound"),
    (0.2, "referral", "web", "inbound"),
    (0.2, "cancellation", "web", "inbound"),
)


def generate(n: int, customers: int, seed: int) -> pa.Table:
    """A sorted log: ~n interactions of `customers` people, each spread over up to a year."""
    rng = np.random.default_rng(seed)
    per = rng.multinomial(n, np.full(customers, 1 / customers))
    who = np.repeat(np.arange(customers), per)
    first = np.repeat(rng.integers(0, 365 * DAY, customers), per)
    gaps = rng.exponential(365 * DAY * customers / n, n).astype(np.int64)  # ~a year each
    starts = np.concatenate(([0], np.cumsum(per)[:-1]))
    cum = np.cumsum(gaps)
    offset = cum - np.repeat(cum[starts] - gaps[starts], per)  # cumulative gap within customer
    at_us = (START + first + offset) * 1_000_000
    weights = np.array([m[0] for m in MIX], dtype=float)
    kind = rng.choice(len(MIX), n, p=weights / weights.sum())
    types = np.array([m[1] for m in MIX], dtype=object)[kind]
    revenue = np.full(n, np.nan)
    revenue[types == "purchase"] = rng.integers(10, 90, (types == "purchase").sum())
    revenue[types == "refund"] = -rng.integers(10, 40, (types == "refund").sum())
    properties = np.full(n, None, dtype=object)
    survey = np.flatnonzero(types == "survey_response")
    answers = np.array(NPS + CSAT, dtype=object)
    properties[survey] = answers[rng.integers(0, len(answers), len(survey))]
    properties[types == "review"] = '{"rating": 5}'
    properties[types == "referral"] = '{"role": "referrer"}'
    return pa.table(
        {
            "customer_id": pa.array([f"c{i:08d}" for i in who.tolist()]),
            "at_us": pa.array(at_us),
            "id": pa.array([f"e{i:09d}" for i in range(n)]),
            "type": pa.array(types.tolist()),
            "channel": pa.array(np.array([m[2] for m in MIX], dtype=object)[kind].tolist()),
            "direction": pa.array(np.array([m[3] for m in MIX], dtype=object)[kind].tolist()),
            "revenue": pa.array(revenue, mask=np.isnan(revenue)),
            "properties": pa.array(properties.tolist(), pa.string()),
        },
        schema=LOG_SCHEMA,
    )


def as_events(log: pa.Table) -> list[list[Event]]:
    """The baseline's input: each customer's interactions as engine events."""
    columns = [log[name].to_pylist() for name in LOG_SCHEMA.names]
    customers: list[list[Event]] = []
    current = None
    for cid, at_us, id_, type_, channel, direction, revenue, props in zip(*columns, strict=True):
        if cid != current:
            customers.append([])
            current = cid
        parsed = orjson.loads(props) if props else None
        customers[-1].append((at_us / 1e6, id_, type_, channel, direction, revenue, parsed))
    return customers


def time_touchpoint(engine: StageEngine, log: pa.Table, until: float) -> tuple[float, int]:
    started = time.perf_counter()
    with without_cycle_collection():  # as `lifecycle replay` runs it
        transitions = sum(len(moves) for _, _, moves in replay_log(engine, log, until))
    return time.perf_counter() - started, transitions


def time_baseline(
    engine: StageEngine, customers: list[list[Event]], until: float
) -> tuple[float, int]:
    started = time.perf_counter()
    with without_cycle_collection():  # the same advantage for the baseline
        transitions = sum(len(engine.advance(StageState(), events, until)) for events in customers)
    return time.perf_counter() - started, transitions


def time_end_to_end(log: pa.Table, directory: Path) -> float:
    """Write `log` into a fresh SQLite data directory's interactions table, then replay it."""
    settings = Settings(data_dir=directory)
    open_touchpoint(settings).close()
    times = (
        datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        for us in log["at_us"].to_pylist()
    )
    rows = (
        (f"x{i}", cid, at, at, channel, direction, type_, revenue, props or "{}")
        for i, (cid, at, type_, channel, direction, revenue, props) in enumerate(
            zip(
                log["customer_id"].to_pylist(),
                times,
                log["type"].to_pylist(),
                log["channel"].to_pylist(),
                log["direction"].to_pylist(),
                log["revenue"].to_pylist(),
                log["properties"].to_pylist(),
                strict=True,
            )
        )
    )
    raw = sqlite3.connect(directory / "touchpoint.db")
    with raw:
        raw.executemany(
            "INSERT INTO interactions (id, customer_id, occurred_at, received_at, channel, "
            "direction, type, revenue, properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    raw.close()
    tp = open_touchpoint(settings)
    try:
        started = time.perf_counter()
        tp.projections.replay("lifecycle", model=load_model())
        return time.perf_counter() - started
    finally:
        tp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="interactions in memory")
    parser.add_argument("--customers", type=int, default=250_000)
    parser.add_argument("--stored", type=int, default=2_000_000, help="interactions end to end")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    log = generate(args.n, args.customers, args.seed)
    console.print(
        f"generated {log.num_rows:,} interactions in {time.perf_counter() - started:.1f} s"
    )
    engine = StageEngine(load_model())
    until = START + 800 * DAY
    results = []
    seconds, moved = time_touchpoint(engine, log, until)
    results.append(
        ("Touchpoint replay (columnar pre-pass + sparse fold)", log.num_rows, seconds, moved)
    )
    customers = as_events(log)
    seconds, baseline_moved = time_baseline(engine, customers, until)
    del customers
    assert baseline_moved == moved, (baseline_moved, moved)
    results.append(("baseline: plain fold over every interaction", log.num_rows, seconds, moved))
    density = args.n / args.customers
    stored = generate(args.stored, max(1, round(args.stored / density)), args.seed + 1)
    with tempfile.TemporaryDirectory() as directory:
        seconds = time_end_to_end(stored, Path(directory))
    results.append(
        (
            "end to end: lifecycle replay on SQLite (read, fold, write)",
            stored.num_rows,
            seconds,
            None,
        )
    )
    print_table(console, results)


def print_table(console: Console, results: list[tuple[str, int, float, int | None]]) -> None:
    table = Table(title="Lifecycle replay, default stage model")
    for column in ("path", "interactions", "seconds", "interactions/s", "transitions"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, n, seconds, moved in results:
        table.add_row(
            name,
            f"{n:,}",
            f"{seconds:.2f}",
            f"{n / seconds:,.0f}",
            f"{moved:,}" if moved is not None else "",
        )
    console.print(table)
    touchpoint, baseline = results[0], results[1]
    speedup = (touchpoint[1] / touchpoint[2]) / (baseline[1] / baseline[2])
    console.print(
        f"Touchpoint replay is {speedup:.1f}× the plain fold; goal ≥ 1,000,000 interactions/s."
    )


if __name__ == "__main__":
    main()
