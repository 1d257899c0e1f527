"""Stage counts at several moments in one query, on both engines, against the same counts worked
out in Python from every transition read back (a customer's stage at T is their last transition
at or before T, by moment then seq) — including moments between, on and after transitions and a
customer with two moves at the same moment."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.builders import T0, interaction
from touchpoint.runtime import Touchpoint
from touchpoint.store import lifecycle as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import stage_transitions

DAY = 24 * 60  # builder minutes
KINDS = ("page_view", "signup", "purchase", "call")


def _expected(rows: list[Any], moment: Any) -> dict[str, int]:
    last: dict[str, tuple[Any, int, str]] = {}
    for row in rows:
        if row.at <= moment:
            key = (row.at, row.seq, row.to_stage)
            if row.customer_id not in last or key[:2] > last[row.customer_id][:2]:
                last[row.customer_id] = key
    return dict(Counter(stage for _at, _seq, stage in last.values()))


def test_counts_at_many_moments_equal_each_customer_s_last_transition(tp: Touchpoint) -> None:
    draw = random.Random(7)
    items: list[dict[str, Any]] = []
    for n in range(40):
        email = f"c{n}@example.com"
        for _ in range(draw.randint(1, 4)):
            kind = draw.choice(KINDS)
            extra = {"direction": "inbound", "channel": "phone"} if kind == "call" else {}
            at = draw.randint(0, 60) * DAY
            items.append(interaction(type=kind, email=email, at=at, **extra))
    # one customer signs up and buys at the very same moment
    items += [
        interaction(type="signup", email="same@example.com", at=30 * DAY),
        interaction(type="purchase", email="same@example.com", at=30 * DAY, revenue=5.0),
    ]
    report = tp.ingestor.ingest(enumerate(items))
    assert not report.rejected, report.rejected
    with read_connection(tp.engine) as conn:
        t = stage_transitions.c
        rows = conn.execute(select(t.customer_id, t.to_stage, t.at, t.seq)).all()
        assert len({r.customer_id for r in rows}) == 41
        moments = [T0 + timedelta(days=d, hours=h) for d in range(-1, 63, 3) for h in (0, 7)]
        moments.append(T0 + timedelta(days=30))  # exactly on the same-moment pair
        got = store.stage_counts_at(conn, moments)
        single = [store.stage_counts(conn, m) for m in moments[::5]]
        assert store.stage_counts_at(conn, []) == []
    assert got == [_expected(rows, m) for m in moments]
    assert single == got[::5]
    assert sum(got[-1].values()) > 0
