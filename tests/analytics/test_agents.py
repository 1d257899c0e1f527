"""The agents report on hand-built contacts, worked out by hand, on DuckDB, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction


def handled(
    kind: str,
    channel: str,
    agent: str,
    ticket: str,
    at: int,
    fcr: bool | None = None,
    **extra: object,
) -> dict:
    properties: dict[str, object] = {"ticket_id": ticket}
    if fcr is not None:
        properties["first_contact_resolution"] = fcr
    return interaction(
        type=kind,
        channel=channel,
        at=day(3, at),
        external_id="cus",
        agent=agent,
        queue="support",
        properties=properties,
        **extra,
    )


def survey(ticket: str, score: int, at: int) -> dict:
    return interaction(
        type="survey_response",
        channel="email",
        at=day(3, at),
        external_id="cus",
        properties={"survey": "csat", "score": score, "ticket_id": ticket},
    )


def test_agents_handle_time_resolution_and_csat_by_ticket(lab: Lab) -> None:
    lab.ingest(
        [
            handled(
                "call",
                "phone",
                "ann",
                "T1",
                2,
                duration_s=300,
                outcome="answered",
                fcr=True,
            ),
            handled(
                "chat",
                "chat",
                "bob",
                "T2",
                3,
                duration_s=100,
                outcome="answered",
                fcr=False,
            ),
            handled("email_sent", "email", "ann", "T2", 4, direction="outbound"),
            survey("T1", 5, 5),  # T1's last handler: ann
            survey("T2", 2, 6),  # T2's last handler before the answer: ann's email, not bob
            handled("ticket_resolved", "email", "bob", "T2", 7),  # after the answer: no credit
        ]
    )
    rows = {r["agent"]: r for r in lab.rows("agents")}
    assert set(rows) == {"ann", "bob", "(total)"}
    ann, bob = rows["ann"], rows["bob"]
    assert (ann["contacts"], ann["replies"], ann["csat_answers"]) == (1, 1, 2)
    assert ann["aht_s"] == pytest.approx(300) and ann["fcr_rate"] == pytest.approx(1.0)
    assert ann["csat"] == pytest.approx(3.5)
    assert (bob["contacts"], bob["replies"], bob["csat_answers"], bob["csat"]) == (1, 0, 0, None)
    assert bob["aht_s"] == pytest.approx(100) and bob["fcr_rate"] == pytest.approx(0.0)
