"""`report at-risk` is a work list a team can call through: who (name, email, phone), since when,
why (the stage model's rule and the interaction that set it off), the last contact and the net
revenue, most valuable first; `--format csv` hands it over as a file. Worked out by hand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from tests.analytics.conftest import NOW, Lab, day
from tests.builders import interaction
from tests.test_cli import touchpoint
from touchpoint.analytics.common import naive


def history() -> list[dict]:
    pat = {"email": "pat@example.com", "phone": "+1 202 555 0147"}
    return [
        interaction(type="page_view", at=day(2, 20), traits={"name": "Pat Doe"}, **pat),
        interaction(type="purchase", at=day(3, 1), revenue=120.0, **pat),
        interaction(
            id="nps-pat",
            type="survey_response",
            channel="email",
            at=day(3, 10),
            properties={"survey": "nps", "score": 3},
            **pat,
        ),
        # a newsletter is not a contact: the last contact stays the survey answer
        interaction(type="email_sent", channel="email", direction="outbound", at=day(4, 1), **pat),
        interaction(
            type="purchase",
            at=day(1, 5),
            revenue=30.0,
            email="quinn@example.com",
            traits={"first_name": "Quinn", "last_name": "Roe"},
        ),  # then silence: at risk 90 days later, on April 5, by the clock
        interaction(type="purchase", at=day(5, 20), revenue=500.0, email="rae@example.com"),
    ]


def test_at_risk_lists_who_why_and_how_to_reach_them(lab: Lab) -> None:
    lab.ingest(history())
    lab.tp.projections.tick(NOW)
    pat, quinn = lab.rows("at-risk")  # rae bought lately: not at risk; pat is worth more
    assert (pat["name"], pat["email"], pat["phone"]) == (
        "Pat Doe",
        "pat@example.com",
        "+12025550147",
    )
    assert pat["since"] == naive(day(3, 10))
    assert pat["reason"] == "NPS detractor" and pat["interaction_id"] == "nps-pat"
    assert pat["because_of"] == "survey_response (NPS 3, email)"
    assert pat["last_contact"] == naive(day(3, 10)) and pat["net_revenue"] == 120.0
    assert (quinn["name"], quinn["email"], quinn["phone"]) == (
        "Quinn Roe",
        "quinn@example.com",
        None,
    )
    assert quinn["since"] == naive(day(4, 5))  # 90 days after January 5
    assert quinn["reason"] == "inactive 90 days" and quinn["because_of"] is None
    assert quinn["last_contact"] == naive(day(1, 5)) and quinn["net_revenue"] == 30.0


def test_at_risk_as_csv_is_a_file_a_spreadsheet_reads(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in history()))
    data = tmp_path / "data"
    assert touchpoint("import", str(events), data_dir=data).returncode == 0
    assert touchpoint("lifecycle", "tick", "--now", "2026-06-01", data_dir=data).returncode == 0
    run = touchpoint("report", "at-risk", "--at", "2026-06-01", "--format", "csv", data_dir=data)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["name"] for r in rows] == ["Pat Doe", "Quinn Roe"]
    assert rows[0]["email"] == "pat@example.com" and rows[0]["phone"] == "+12025550147"
    assert rows[0]["since"] == "2026-03-10T12:00:00" and rows[0]["net_revenue"] == "120.0"
    assert rows[0]["because_of"] == "survey_response (NPS 3, email)"
    assert rows[1]["phone"] == "" and rows[1]["because_of"] == ""  # empty, not "None"
    assert run.stdout.count("\n") == 3  # a header and two rows, no notes mixed in
