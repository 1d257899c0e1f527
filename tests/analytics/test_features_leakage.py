"""Predictive features read nothing after their cut-off (rewriting every later event changes no
feature), a few features worked out by hand, and the labels from the horizon after it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import ibis
import pandas as pd
import pytest

from touchpoint.analytics.features import customer_features, labels, stage_ranks
from touchpoint.domain import predictions as terms

CUT = datetime(2026, 6, 1, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as the copy stores times
PROGRESSION = ["reach", "acquisition", "conversion", "retention", "loyalty", "advocacy"]
OVERLAYS = ["at_risk", "churned", "win_back"]
TYPES = [
    ("page_view", "web", "inbound"),
    ("purchase", "web", "inbound"),
    ("call", "phone", "inbound"),
    ("chat", "chat", "inbound"),
    ("email_sent", "email", "outbound"),
    ("email_opened", "email", "inbound"),
    ("email_clicked", "email", "inbound"),
    ("ticket_opened", "email", "inbound"),
    ("ticket_resolved", "email", "outbound"),
    ("survey_response", "email", "inbound"),
    ("refund", "web", "inbound"),
]


def _event(rng: random.Random, seq: int, customer: int, at: datetime) -> dict[str, object]:
    kind, channel, direction = rng.choice(TYPES)
    live = kind in ("call", "chat")
    return {
        "seq": seq,
        "id": f"e{seq}",
        "customer_id": customer,
        "occurred_at": at,
        "channel": channel,
        "direction": direction,
        "type": kind,
        "revenue": rng.choice([20.0, 55.5]) if kind == "purchase" else None,
        "outcome": rng.choice(["answered", "abandoned"]) if live else None,
        "wait_s": float(rng.randint(0, 600)) if live else None,
        "csat": float(rng.randint(1, 5)) if kind == "survey_response" else None,
        "nps": None,
        "ticket_id": f"T{rng.randint(1, 30)}" if kind in ("ticket_opened", "call") else None,
    }


def _log(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    rows, moves = [], []
    for seq in range(1, 3001):
        at = CUT + timedelta(days=rng.uniform(-400, 200), seconds=rng.randint(0, 3))
        rows.append(_event(rng, seq, rng.randint(1, 60), at))
    for seq in range(1, 301):
        at = CUT + timedelta(days=rng.uniform(-400, 200))
        stage = rng.choice(PROGRESSION + OVERLAYS)
        moves.append({"seq": seq, "customer_id": rng.randint(1, 60), "to_stage": stage, "at": at})
    return pd.DataFrame(rows), pd.DataFrame(moves)


def _rewrite_future(log: pd.DataFrame, moves: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, ...]:
    """Every event after the cut-off replaced by another one (type, customer, time, values),
    and every later transition too; the past untouched."""
    rng = random.Random(seed)
    later = log.occurred_at > CUT
    new = [
        _event(rng, int(seq), rng.randint(1, 80), CUT + timedelta(seconds=rng.randint(1, 10**7)))
        for seq in log.seq[later]
    ]
    log = pd.concat([log[~later], pd.DataFrame(new)]).sample(frac=1, random_state=seed)
    moved = moves["at"] > CUT
    moves = moves.copy()
    moves.loc[moved, "to_stage"] = [rng.choice(PROGRESSION + OVERLAYS) for _ in range(moved.sum())]
    moves.loc[moved, "customer_id"] = [rng.randint(1, 80) for _ in range(moved.sum())]
    return log, moves


def _features(log: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    con = ibis.duckdb.connect()
    table = customer_features(
        ibis.memtable(log),
        ibis.memtable(moves),
        cutoff=CUT,
        progression=PROGRESSION,
        overlays=OVERLAYS,
    )
    frame = con.to_pyarrow(table).to_pandas().set_index("customer_id").sort_index()
    con.disconnect()
    return frame


def test_rewriting_every_event_after_the_cut_off_changes_no_feature() -> None:
    log, moves = _log(seed=1)
    before = _features(log, moves)
    assert len(before) > 50 and before["purchases"].sum() > 0
    for seed in (2, 3):
        after = _features(*_rewrite_future(log, moves, seed))
        pd.testing.assert_frame_equal(before, after)


def test_a_change_before_the_cut_off_does_change_the_features() -> None:
    """The check above can fail: the same comparison sees a change in the past."""
    log, moves = _log(seed=1)
    before = _features(log, moves)
    earlier = log.copy()
    past = earlier.index[earlier.occurred_at <= CUT][0]
    earlier.loc[past, "occurred_at"] = CUT - timedelta(days=500)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(before, _features(earlier, moves))


def _one_customer() -> tuple[pd.DataFrame, pd.DataFrame]:
    day = timedelta(days=1)
    base = {"revenue": None, "outcome": None, "wait_s": None, "csat": None, "nps": None}
    rows = [
        # what, days before the cut-off, channel, direction, extra
        ("page_view", 200, "web", "inbound", {}),
        ("purchase", 100, "web", "inbound", {"revenue": 40.0}),
        ("call", 50, "phone", "inbound", {"wait_s": 100.0, "outcome": "answered"}),
        ("call", 20, "phone", "inbound", {"wait_s": 300.0, "outcome": "abandoned"}),
        ("email_sent", 10, "email", "outbound", {}),
        ("email_sent", 5, "email", "outbound", {}),
        ("email_opened", 4, "email", "inbound", {}),
        ("survey_response", 3, "email", "inbound", {"csat": 2.0}),
        ("purchase", -1, "web", "inbound", {"revenue": 999.0}),  # after the cut-off
    ]
    log = pd.DataFrame(
        [
            base
            | {"seq": i, "id": f"e{i}", "customer_id": 7, "occurred_at": CUT - days * day}
            | {"channel": ch, "direction": d, "type": t, "ticket_id": None}
            | extra
            for i, (t, days, ch, d, extra) in enumerate(rows, 1)
        ]
    )
    moves = pd.DataFrame(
        [
            {"seq": 1, "customer_id": 7, "to_stage": "reach", "at": CUT - 200 * day},
            {"seq": 2, "customer_id": 7, "to_stage": "conversion", "at": CUT - 100 * day},
            {"seq": 3, "customer_id": 7, "to_stage": "at_risk", "at": CUT - 3 * day},
            {"seq": 4, "customer_id": 7, "to_stage": "churned", "at": CUT + 30 * day},
        ]
    )
    return log, moves


def test_features_of_one_customer_worked_out_by_hand() -> None:
    row = _features(*_one_customer()).loc[7]
    assert row.days_since_active == pytest.approx(3.0)  # the survey answer
    assert row.days_since_purchase == pytest.approx(100.0)
    assert row.tenure_days == pytest.approx(200.0)
    assert (row.active_total, row.active_90d, row.active_30d) == (6, 4, 3)
    assert (row.purchases, row.revenue_total, row.revenue_90d) == (1, 40.0, 0.0)
    assert (row.support_contacts_90d, row.abandoned_contacts) == (2, 1)
    assert (row.wait_mean_s, row.wait_max_s) == (200.0, 300.0)
    assert row.share_phone == pytest.approx(2 / 6) and row.share_web == pytest.approx(2 / 6)
    assert (row.emails_sent_90d, row.emails_opened_90d, row.email_open_rate) == (2, 1, 0.5)
    assert (row.csat_mean, row.csat_last) == (2.0, 2.0)
    assert (row.stage_rank, row.at_risk, row.days_in_stage) == (2, 1, pytest.approx(3.0))


def test_labels_come_from_the_horizon_after_the_cut_off() -> None:
    _, moves = _one_customer()
    con = ibis.duckdb.connect()
    ranks = stage_ranks(PROGRESSION, OVERLAYS)

    def yes(target: str, horizon: int) -> list[int]:
        expr = labels(
            ibis.memtable(moves),
            target=target,
            cutoff=CUT,
            horizon_days=horizon,
            ranks=ranks,
            conversion_at=2,
        )
        return list(con.to_pyarrow(expr).to_pandas().customer_id)

    assert yes(terms.CHURN, 90) == [7]  # churned 30 days after the cut-off
    assert yes(terms.CHURN, 29) == []  # … which a 29-day horizon does not reach
    assert yes(terms.CONVERSION, 90) == []  # converted before the cut-off: not in the horizon
