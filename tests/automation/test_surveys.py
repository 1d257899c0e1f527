"""The survey action end to end: a playbook emails a CSAT survey with one signed link per score;
opening a link only shows a page, posting it records one `survey_response` (the run's trigger's
ticket named), posting again or another score's link records nothing more, a tampered link is a
404, and the contact-center report counts the answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.automation.conftest import Inbox
from tests.automation.test_email_runs import logged, record
from tests.builders import interaction
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources
from touchpoint.api.app import create_app
from touchpoint.automation.playbooks import read_playbook
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.scheduler import run_once

SURVEY = """name = "after_support"
[trigger]
interaction = "purchase"
[[steps]]
send_survey = { kind = "csat", subject = "How did we do?", transactional = true }
"""


def test_a_survey_step_with_an_unknown_kind_names_its_line() -> None:
    bad = SURVEY.replace('kind = "csat"', 'kind = "ces"').replace(
        "transactional = true", 'transactional = "yes"'
    )
    with pytest.raises(ValidationError) as caught:
        read_playbook(Path("s.toml"), bad)
    assert str(caught.value).split("; ") == [
        "s.toml:5: steps[0].send_survey.kind: must be one of csat, nps",
        "s.toml:5: steps[0].send_survey.transactional: must be true or false",
    ]


def test_a_csat_answer_is_recorded_once_and_counted(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    folder = mtp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "after_support.toml").write_text(SURVEY)
    # Sent now by the real clock: the link expires 30 days after the send, and the API reads
    # the real clock when it is answered.
    sent = datetime.now(UTC).replace(microsecond=0)
    record(
        mtp,
        interaction(
            type="purchase", email="ann@example.com", at=sent, properties={"ticket_id": "T9"}
        ),
    )
    run_once(mtp, sent + timedelta(seconds=1))
    run_once(mtp, sent + timedelta(seconds=2))  # again: no second mail
    (mail,) = box.messages
    assert mail["Subject"] == "How did we do?"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    links = dict(re.findall(r"^(\d+): https://crm\.example\.com(/v1/survey/[\w.-]+)", text, re.M))
    assert sorted(links, key=int) == ["1", "2", "3", "4", "5"]  # CSAT: 1 to 5
    with TestClient(create_app(mtp)) as client:
        page = client.get(links["4"])
        assert page.status_code == 200 and 'method="post"' in page.text
        assert logged(mtp, "survey_response") == []  # a GET (a link scanner) answers nothing
        first = client.post(links["4"])
        again = client.post(links["4"])
        other = client.post(links["2"])  # a second click, another score: the first stands
        assert [r.status_code for r in (first, again, other)] == [200, 200, 200]
        assert "CSAT 4" in other.text
        tampered = links["4"][:-4] + ("AAAA" if not links["4"].endswith("AAAA") else "BBBB")
        assert client.post(tampered).status_code == 404
        assert client.get(tampered).status_code == 404
    (answer,) = logged(mtp, "survey_response")
    assert answer["direction"] == "inbound"
    assert {k: answer["properties"][k] for k in ("survey", "score", "ticket_id")} == {
        "survey": "csat",
        "score": 4,
        "ticket_id": "T9",
    }
    today = datetime.now(UTC).date()
    spec = report_spec("contact-center")
    request = make_request(
        spec,
        at=datetime.now(UTC) + timedelta(hours=1),
        start=str(today - timedelta(days=1)),
        end=str(today + timedelta(days=1)),
    )
    engine = "sqlite" if mtp.engine.dialect.name == "sqlite" else "postgres"
    with open_sources(mtp.settings, engine) as sources:
        rows = {r["queue"]: r for r in spec.run(sources, request).table.to_pylist()}
    total = rows["(none)"]  # the ticket T9 was handled by no one, so no queue is credited
    assert (total["csat"], total["csat_answers"]) == (4, 1)
