"""The scores page over HTTP on the seeded business (conftest), with a score file of two rules
and no half-life, so every figure is worked out by hand: Ann viewed a page (+1) and signed up
(+15): 16; Bo and Cy signed up: 15 each; Dee, Eve and Mal viewed a page: 1 each; purchases and
calls earn nothing. Thresholds 5 and 10 make the bands: below 0, 0 to 5, 5 to 10, 10 or more."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import scores

SCORE_FILE = """
[[model]]
name = "interest"
description = "Signs of interest"
thresholds = [5, 10]

[[model.rule]]
name = "signup"
type = "signup"
points = 15

[[model.rule]]
name = "page_view"
type = "page_view"
points = 1
"""


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    scores.apply_text(seeded, SCORE_FILE, actor="test")
    return TestClient(create_app(seeded))


def _section(html: str, model: str) -> str:
    return html.split(f'data-model="{model}"', 1)[1].split("</section>", 1)[0]


def _cells(html: str, css: str) -> list[str]:
    return re.findall(rf'<(?:td|dd) class="{css}"[^>]*>([^<]*)<', html)


def test_the_page_shows_each_band_the_mean_and_the_top_customers(web: TestClient) -> None:
    answer = web.get("/app/scores", auth=("web-admin", PASSWORDS["admin"]))
    assert answer.status_code == 200
    model = _section(answer.text, "interest")
    assert _cells(model, "scored") == ["6"]
    assert _cells(model, "mean") == ["8.2"]  # 49 / 6
    assert _cells(model, "above") == ["3", "3"]  # at or above 5, at or above 10
    bands = re.findall(r'<th scope="row">([^<]+)</th><td class="count">([\d,]+)</td>', model)
    assert bands[:4] == [("below 0", "0"), ("0 to 5", "3"), ("5 to 10", "0"), ("10 or more", "3")]
    top = model.split('class="top"', 1)[1]
    assert (
        re.findall(r'<td class="count">([\d.]+)</td>', top)
        == ["16.0", "15.0", "15.0"] + ["1.0"] * 3
    )
    assert 'href="/app/customers/' in top  # an admin opens them
    assert 'id="bands-0"' in model  # the chart, beside its table
    assert "No model trained yet" in answer.text


def test_an_analyst_sees_the_figures_but_opens_no_customer(web: TestClient) -> None:
    answer = web.get("/app/scores", auth=("web-analyst", PASSWORDS["analyst"]))
    assert answer.status_code == 200
    model = _section(answer.text, "interest")
    assert _cells(model, "scored") == ["6"]
    assert 'href="/app/customers/' not in model
    assert 'href="/app/scores"' in answer.text  # in the navigation
