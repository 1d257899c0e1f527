"""The surveys page over HTTP on the seeded business (conftest) with answers worked out by hand.
The shipped after_service survey (csat 1-5, nps, a comment, how_did_you_hear) was answered by four
sends: CSAT 5, 4, 2 (mean 11 / 3 = 3.67 on the KPIs' 1-5 scale) and NPS 10, 9, 7, 3 (two
promoters, one detractor: (2 - 1) / 4 = +25), one comment and one choice. A data-directory survey
asks a CSAT on a 1-7 scale, answered 7 and 4: on the 1-5 scale 5 and 3, so CSAT 4.00. An answer
from no survey's form (the demo's shape, CSAT 1) counts for no survey: it is shown on its own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import interaction
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint

ONBOARDING = """
name = "onboarding"
title = "Settling in?"
subject = "How is it going?"

[[questions]]
kind = "csat"
scale = "1-7"
text = "How easy was it to get started?"
"""


def _answer(send: str, form: str, email: str, **properties: Any) -> dict[str, Any]:
    return interaction(
        type="survey_response",
        channel="email",
        direction="inbound",
        email=email,
        properties={"form": form, "send": send, **properties},
    )


def _answers() -> list[dict[str, Any]]:
    after = "after_service"
    return [
        _answer("s1", after, "ann@example.com", survey="csat", score=5),
        _answer("s1", after, "ann@example.com", survey="nps", score=10),
        _answer("s1", after, "ann@example.com", survey="comment", answer="Lovely <b>help</b>"),
        _answer("s1", after, "ann@example.com", survey="how_did_you_hear", answer="podcast"),
        _answer("s2", after, "bo@example.com", survey="csat", score=4),
        _answer("s2", after, "bo@example.com", survey="nps", score=9),
        _answer("s3", after, "cy@example.com", survey="csat", score=2),
        _answer("s3", after, "cy@example.com", survey="nps", score=7),
        _answer("s4", after, "dee@example.com", survey="nps", score=3),
        _answer(
            "o1", "onboarding", "ann@example.com", survey="csat", score=5.0, answer=7, scale="1-7"
        ),
        _answer(
            "o2", "onboarding", "bo@example.com", survey="csat", score=3.0, answer=4, scale="1-7"
        ),
        interaction(  # no survey's form: the demo's shape
            type="survey_response",
            channel="email",
            direction="inbound",
            email="eve@example.com",
            properties={"survey": "csat", "score": 1},
        ),
    ]


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    folder = seeded.settings.data_dir / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "onboarding.toml").write_text(ONBOARDING)
    report = seeded.ingestor.ingest(list(enumerate(_answers())))
    assert {r.status for r in report.results} == {"accepted"}
    return TestClient(create_app(seeded))


def _section(html: str, survey: str) -> str:
    return html.split(f'data-survey="{survey}"', 1)[1].split("</section>", 1)[0]


def _row(section: str, question: str) -> dict[str, str]:
    row = section.split(f'<tr data-question="{question}">', 1)[1].split("</tr>", 1)[0]
    return dict(re.findall(r'<td class="(\w+)">([^<]*)</td>', row))


def _scores(section: str, question: str) -> list[tuple[str, str]]:
    part = section.split(f'<div class="distribution" data-question="{question}">', 1)[1]
    part = part.split("</table>", 1)[0]
    return re.findall(
        r'<th scope="row">(\d+)</th><td>[^<]*</td><td class="count">([\d,]+)</td>', part
    )


def test_each_survey_shows_its_answers_csat_and_nps(web: TestClient) -> None:
    answer = web.get("/app/surveys", auth=("web-analyst", PASSWORDS["analyst"]))
    assert answer.status_code == 200
    after = _section(answer.text, "after_service")
    assert re.findall(r'<dd class="responses">([^<]*)<', after) == ["4"]
    assert "How satisfied were you with the help you got?" in after  # the question in words
    assert _row(after, "csat") == {"answers": "3", "csat": "3.67", "nps": "–"}
    assert _row(after, "nps") == {"answers": "4", "csat": "–", "nps": "+25"}
    assert _row(after, "comment")["answers"] == "1"
    assert _row(after, "how_did_you_hear")["answers"] == "1"
    assert _scores(after, "csat") == [("1", "0"), ("2", "1"), ("3", "0"), ("4", "1"), ("5", "1")]
    nps = dict(_scores(after, "nps"))
    assert len(nps) == 11 and (nps["10"], nps["9"], nps["7"], nps["3"], nps["0"]) == (
        "1",
        "1",
        "1",
        "1",
        "0",
    )
    assert '<td class="split">2 / 1</td>' in after  # promoters / detractors
    assert 'id="scores-0-0"' in after and 'id="scores-0-1"' in after  # charts beside tables
    assert "<b>help</b>" not in answer.text  # no answer's text is shown, escaped or not

    onboarding = _section(answer.text, "onboarding")
    assert re.findall(r'<dd class="responses">([^<]*)<', onboarding) == ["2"]
    assert _row(onboarding, "csat") == {"answers": "2", "csat": "4.00", "nps": "–"}
    spread = _scores(onboarding, "csat")
    assert [s for s, _ in spread] == [str(n) for n in range(1, 8)]  # the 1-7 scale, as given
    assert dict(spread)["7"] == "1" and dict(spread)["4"] == "1"

    csat = _section(answer.text, "csat")
    assert re.findall(r'<dd class="responses">([^<]*)<', csat) == ["0"]  # the demo's answer: none
    other = _section(answer.text, "")  # from no survey's form: the demo's answer, Eve's 1
    assert _row(other, "csat") == {"answers": "1", "csat": "1.00", "nps": "–"}
    assert 'data-question="nps"' not in other  # no NPS answer outside a form
    assert 'id="other-csat"' in other
    assert 'href="/app/surveys"' in answer.text  # in the navigation
    assert '<script src="/app/static/plotly.min.js"></script>' in answer.text


def test_an_agent_may_not_open_it(web: TestClient) -> None:
    answer = web.get("/app/surveys", auth=("web-agent", PASSWORDS["agent"]))
    assert answer.status_code == 403
    page = web.get("/app/scores", auth=("web-agent", PASSWORDS["agent"]))
    assert 'href="/app/surveys"' not in page.text
