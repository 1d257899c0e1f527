"""Survey definitions, the signed expiring form, and sends by the API, an agent and a playbook,
end to end: a real SMTP server on loopback receives the mail, the test follows its link, posts
the form and reads the `survey_response` interactions and the CSAT KPI (the real kpis report)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.automation.conftest import Inbox
from tests.automation.test_email_runs import logged, record
from tests.builders import interaction
from tests.conftest import new_key
from touchpoint.analytics.service import make_request, report_spec, run_report
from touchpoint.api.app import create_app
from touchpoint.automation.links import LinkExpired
from touchpoint.automation.surveys import read_survey
from touchpoint.cli.app import app as cli
from touchpoint.errors import NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import surveys
from touchpoint.services.customers import find_one
from touchpoint.services.scheduler import run_once
from touchpoint.store.engine import read_connection

ANN = "ann@example.com"
VISIT = """name = "after_visit"
subject = "How was your visit?"
expires_after = "7d"
transactional = true

[[questions]]
kind = "csat"
text = "How satisfied were you?"
labels = { 1 = "Very dissatisfied", 5 = "Very satisfied" }

[[questions]]
kind = "text"
name = "comment"
text = "Anything else?"
max_length = 20

[[questions]]
kind = "choice"
name = "how_did_you_hear"
text = "How did you hear about us?"
options = ["search", "friend", "podcast"]
"""
SEVEN = """name = "seven"
subject = "Rate us"
transactional = true

[[questions]]
kind = "csat"
scale = "1-7"
text = "How satisfied were you?"
"""


def write_survey(tp: Touchpoint, text: str) -> None:
    folder = tp.settings.data_dir / "surveys"
    folder.mkdir(exist_ok=True)
    name = re.search(r'^name = "(\w+)"', text, re.M)
    assert name is not None
    (folder / f"{name[1]}.toml").write_text(text)


def ann(tp: Touchpoint, at: datetime, **fields: Any) -> str:
    record(tp, interaction(type="signup", email=ANN, at=at, **fields))
    with read_connection(tp.engine) as conn:
        return find_one(conn, ANN, default_region="US")


def links_in(mail: Any) -> tuple[dict[str, str], str]:
    """The one-click score links (score -> path) and the form's path, from a mail's text."""
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    scores = dict(re.findall(r"^(\d+): https://crm\.example\.com(/v1/survey/[\w.-]+)$", text, re.M))
    (form,) = re.findall(r"page: https://crm\.example\.com(/v1/survey/[\w.-]+)$", text, re.M)
    return scores, form


def csat_kpi(tp: Touchpoint) -> float | None:
    spec = report_spec("kpis")
    today = datetime.now(UTC).date()
    request = make_request(
        spec, start=str(today - timedelta(days=3)), end=str(today + timedelta(days=1))
    )
    rows = run_report(tp.settings, "kpis", request).table.to_pylist()
    (found,) = [r["value"] for r in rows if r["kpi"] == "csat"]
    return found


# --- definitions ---------------------------------------------------------------------------------


def test_a_survey_file_is_refused_as_a_whole_with_each_problem_on_its_line() -> None:
    bad = (
        VISIT.replace('kind = "csat"', 'kind = "csat"\nscale = "0-3"')
        .replace("max_length = 20", "max_length = 0")
        .replace('options = ["search", "friend", "podcast"]', 'options = ["search"]\ncolour = 1')
    )
    with pytest.raises(ValidationError) as caught:
        read_survey(Path("v.toml"), bad)
    assert str(caught.value) == "; ".join(
        [
            "v.toml:8: questions[0].scale: must be one of 1-5, 1-7, 1-10",
            "v.toml:16: questions[1].max_length: must be a whole number from 1 to 5000",
            "v.toml:23: questions[2].colour: unknown key for a choice question; expected kind, "
            "name, text, options, required",
            "v.toml:22: questions[2].options: must be a list of two or more different texts",
        ]
    )


def test_a_survey_without_questions_or_subject_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        read_survey(Path("e.toml"), 'name = "empty"\nexpires_after = "2y"\n')
    assert str(caught.value).split("; ") == [
        "e.toml:1: subject: missing (text): the email's subject",
        'e.toml:2: expires_after: must be a span from 1h to 365d, e.g. "14d"',
        "e.toml:1: questions: missing: at least one [[questions]] table",
    ]


# --- sent by the API: the form, its answers, the KPI ---------------------------------------------


def test_an_api_send_is_answered_on_the_form_once_and_moves_the_csat_kpi(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, VISIT)
    now = datetime.now(UTC).replace(microsecond=0)
    customer = ann(mtp, now - timedelta(hours=2))
    # Two earlier answers: CSAT (2 + 5) / 2 = 3.5 before this survey.
    for score in (2, 5):
        record(
            mtp,
            interaction(
                type="survey_response",
                channel="email",
                email=ANN,
                at=now - timedelta(hours=1),
                properties={"survey": "csat", "score": score},
            ),
        )
    assert csat_kpi(mtp) == pytest.approx(3.5)
    key = new_key(mtp, "agent")
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(mtp)) as client:
        body = {"customer": customer, "survey": "after_visit", "ticket_id": "T7"}
        sent = client.post("/v1/surveys/sends", json=body, headers=auth)
        again = client.post("/v1/surveys/sends", json=body, headers=auth)  # the same ticket
        assert (sent.status_code, sent.json()["status"]) == (200, "sent")
        assert (again.status_code, again.json()["status"]) == (200, "already")
        (mail,) = box.messages
        assert mail["To"] == ANN and mail["Subject"] == "How was your visit?"
        scores, form = links_in(mail)
        assert sorted(scores, key=int) == ["1", "2", "3", "4", "5"]

        page = client.get(form)
        assert page.status_code == 200
        for label in (
            "<legend>How satisfied were you?</legend>",
            '<label for="q1">Anything else?</label>',
            "<legend>How did you hear about us?</legend>",
            '<input type="radio" name="csat" value="1" required> 1 (Very dissatisfied)',
            '<input type="radio" name="how_did_you_hear" value="podcast" required> podcast',
        ):
            assert label in page.text
        assert len(logged(mtp, "survey_response")) == 2  # the GET recorded nothing

        too_long = {"csat": "4", "comment": "x" * 21, "how_did_you_hear": "radio"}
        refused = client.post(form, data=too_long)
        assert refused.status_code == 422
        assert "at most 20 characters" in refused.text
        assert "choose one of search, friend, podcast" in refused.text
        assert len(logged(mtp, "survey_response")) == 2  # nothing recorded

        answers = {"csat": "4", "comment": "Quick & kind", "how_did_you_hear": "podcast"}
        done = client.post(form, data=answers)
        assert done.status_code == 200 and "Thank you: CSAT 4." in done.text
        resubmit = client.post(form, data={**answers, "csat": "1"})
        one_click = client.post(scores["2"])
        assert "We have your answer already: CSAT 4." in resubmit.text
        assert "We have your answer already: CSAT 4." in one_click.text
        assert "Answered: Quick &amp; kind" in client.get(form).text

    mine = [
        {k: v for k, v in a["properties"].items() if k != "send"}
        for a in logged(mtp, "survey_response")
        if a["properties"].get("form") == "after_visit"
    ]
    assert sorted(mine, key=lambda p: p["survey"]) == [
        {"survey": "comment", "answer": "Quick & kind", "form": "after_visit", "ticket_id": "T7"},
        {"survey": "csat", "score": 4, "form": "after_visit", "ticket_id": "T7"},
        {
            "survey": "how_did_you_hear",
            "answer": "podcast",
            "form": "after_visit",
            "ticket_id": "T7",
        },
    ]
    (sent_log,) = logged(mtp, "email_sent")
    assert sent_log["properties"]["survey"] == "after_visit"
    assert sent_log["properties"]["sent_by"] == "api"
    # CSAT after: (2 + 5 + 4) / 3 = 11/3, up by 11/3 - 7/2 = 1/6.
    assert csat_kpi(mtp) == pytest.approx(11 / 3)


def test_a_one_click_score_then_the_rest_of_the_form(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, VISIT)
    customer = ann(mtp, datetime.now(UTC) - timedelta(minutes=5))
    surveys.send(mtp, customer, "after_visit", about={"contact_id": "C1"})
    scores, form = links_in(box.messages[0])
    with TestClient(create_app(mtp)) as client:
        prefilled = client.get(scores["5"])
        assert 'value="5" checked' in prefilled.text
        assert logged(mtp, "survey_response") == []  # a GET answers nothing
        assert "Thank you: CSAT 5." in client.post(scores["5"]).text
        rest = client.get(form).text
        assert "Answered: 5" in rest and 'name="comment"' in rest
        done = client.post(form, data={"comment": "", "how_did_you_hear": "friend"})
        assert done.status_code == 200
    got = {a["properties"]["survey"]: a["properties"] for a in logged(mtp, "survey_response")}
    assert set(got) == {"csat", "how_did_you_hear"}  # an empty optional comment is no answer
    assert (got["csat"]["score"], got["csat"]["contact_id"]) == (5, "C1")
    assert got["how_did_you_hear"]["answer"] == "friend"


def test_a_seven_point_csat_is_recorded_on_the_kpi_scale(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, SEVEN)
    customer = ann(mtp, datetime.now(UTC) - timedelta(minutes=5))
    surveys.send(mtp, customer, "seven")
    scores, _ = links_in(box.messages[0])
    assert sorted(scores, key=int) == [str(n) for n in range(1, 8)]
    with TestClient(create_app(mtp)) as client:
        assert client.post(scores["6"]).status_code == 200
    (answer,) = logged(mtp, "survey_response")
    # 6 on 1-7 is 1 + (6 - 1) * 4 / 6 = 13/3 on 1-5.
    assert answer["properties"]["score"] == pytest.approx(13 / 3)
    assert (answer["properties"]["answer"], answer["properties"]["scale"]) == (6, "1-7")
    assert csat_kpi(mtp) == pytest.approx(13 / 3)


def test_an_expired_link_shows_a_closed_page_and_records_nothing(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, VISIT)  # links open 7 days
    sent_at = datetime.now(UTC) - timedelta(days=7, minutes=1)
    customer = ann(mtp, sent_at - timedelta(minutes=1))
    surveys.send(mtp, customer, "after_visit", now=sent_at)
    scores, form = links_in(box.messages[0])
    with TestClient(create_app(mtp)) as client:
        for response in (client.get(form), client.post(form, data={"csat": "3"})):
            assert response.status_code == 410
            assert "Sorry: this survey closed on" in response.text
        assert client.post(scores["3"]).status_code == 410
    with pytest.raises(LinkExpired):
        surveys.answer(mtp, form.rsplit("/", 1)[1], {"csat": "3"})
    # A minute before it closed, it was open.
    still = surveys.form(mtp, form.rsplit("/", 1)[1], now=sent_at + timedelta(days=7, seconds=-60))
    assert still.survey.name == "after_visit"
    assert logged(mtp, "survey_response") == []


def test_a_marketing_survey_without_consent_is_suppressed_and_logged(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, SEVEN.replace("transactional = true", "transactional = false"))
    customer = ann(mtp, datetime.now(UTC) - timedelta(minutes=5))
    sent = surveys.send(mtp, customer, "seven")
    assert (sent.status, sent.reason) == ("suppressed", "no_consent")
    assert box.messages == []
    (suppressed,) = logged(mtp, "custom")
    assert suppressed["name"] == "message_suppressed"
    assert suppressed["properties"]["reason"] == "no_consent"


def test_bad_sends_are_clear_errors(mtp: Touchpoint) -> None:
    key = new_key(mtp, "agent")
    auth = {"Authorization": f"Bearer {key}"}
    customer = ann(mtp, datetime.now(UTC) - timedelta(minutes=5))
    with TestClient(create_app(mtp)) as client:
        unknown = client.post(
            "/v1/surveys/sends", json={"customer": customer, "survey": "nope"}, headers=auth
        )
        nobody = client.post(
            "/v1/surveys/sends", json={"customer": "cus_nobody", "survey": "csat"}, headers=auth
        )
        shape = client.post("/v1/surveys/sends", json={"customer": customer}, headers=auth)
        analyst = new_key(mtp, "analyst")
        refused = client.post(
            "/v1/surveys/sends",
            json={"customer": customer, "survey": "csat"},
            headers={"Authorization": f"Bearer {analyst}"},
        )
        forged = client.get("/v1/survey/" + "A" * 40)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no survey named 'nope'")
    assert nobody.status_code == 404
    assert shape.status_code == 422
    assert refused.status_code == 403
    assert forged.status_code == 404


# --- sent by an agent (the CLI) and by a playbook -------------------------------------------------


def test_an_agent_sends_from_the_cli_once_per_ticket(
    mtp: Touchpoint, inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = inbox
    write_survey(mtp, VISIT)
    customer = ann(mtp, datetime.now(UTC) - timedelta(minutes=5))
    settings = mtp.settings
    env = {
        "TOUCHPOINT_DATA_DIR": str(settings.data_dir),
        "TOUCHPOINT_SMTP_HOST": "127.0.0.1",
        "TOUCHPOINT_SMTP_PORT": str(port),
        "TOUCHPOINT_SMTP_SECURITY": "none",
        "TOUCHPOINT_SMTP_FROM": "shop@example.com",
        "TOUCHPOINT_PUBLIC_URL": "https://crm.example.com",
        "TOUCHPOINT_AUTOMATION_SECRET": str(settings.automation_secret),
    }
    if settings.database_url:
        env["TOUCHPOINT_DATABASE_URL"] = settings.database_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["survey", "send", customer, "--survey", "after_visit", "--ticket", "T3"]
    runner = CliRunner()
    first = runner.invoke(cli, [*args, "--agent", "maria"])
    second = runner.invoke(cli, [*args, "--agent", "maria"])
    unknown = runner.invoke(cli, ["survey", "send", customer, "--survey", "nope"])
    assert first.exit_code == 0 and first.output.startswith("Sent survey after_visit to ")
    assert second.exit_code == 0 and second.output.startswith("Already sent: survey after_visit")
    # main() prints a TouchpointError as one line (tests/cli); the runner hands it back
    assert isinstance(unknown.exception, NotFound)
    assert str(unknown.exception) == "no survey named 'nope'"
    assert len(box.messages) == 1
    (sent,) = logged(mtp, "email_sent")
    assert sent["properties"]["sent_by"] == "agent" and sent["properties"]["ticket_id"] == "T3"


def test_a_playbook_step_naming_a_survey_sends_its_form(
    mtp: Touchpoint, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    write_survey(mtp, VISIT)
    folder = mtp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "visit.toml").write_text(
        'name = "visit"\n[trigger]\ninteraction = "purchase"\n[[steps]]\n'
        'send_survey = { survey = "after_visit" }\n'
    )
    now = datetime.now(UTC).replace(microsecond=0)
    record(mtp, interaction(type="purchase", email=ANN, at=now, properties={"ticket_id": "T5"}))
    run_once(mtp, now + timedelta(seconds=1))
    run_once(mtp, now + timedelta(seconds=2))
    (mail,) = box.messages
    assert mail["Subject"] == "How was your visit?"  # the survey's own subject
    _, form = links_in(mail)
    with TestClient(create_app(mtp)) as client:
        done = client.post(form, data={"csat": "3", "comment": "", "how_did_you_hear": "search"})
        assert done.status_code == 200
    got = sorted(a["properties"]["survey"] for a in logged(mtp, "survey_response"))
    assert got == ["csat", "how_did_you_hear"]
    assert {a["properties"]["ticket_id"] for a in logged(mtp, "survey_response")} == {"T5"}
