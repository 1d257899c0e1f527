"""The overview's 12-week sparklines, read from the figures' data in the page, against the
seeded business worked by hand (tests/web/conftest.py) and the default model: Bo's inbound call
40 days ago (an enquiry) makes him the one customer in acquisition from the week ending 35 days
ago; Cy joins him 3 days ago. Reach holds Dee, Eve and Mal, who came yesterday; Ann, who was in
reach and acquisition within the last week only, converted 3 days ago — the one move into
conversion, in the last week. Nobody churned."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint


def _series(html: str, div_id: str) -> list[Any]:
    found = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*(\[.*?\]),\s*\{{', html, re.S)
    assert found, f"no figure {div_id}"
    (trace,) = json.loads(found[1])
    return list(trace["y"])


def test_the_overview_draws_each_stage_and_move_over_twelve_weeks(seeded: Touchpoint) -> None:
    web = TestClient(create_app(seeded))
    manager = ("web-manager", PASSWORDS["manager"])
    first = web.get("/app/overview", auth=manager).text  # the week's figures load after it
    assert 'hx-get="/app/overview/week"' in first and "trend-conversions" not in first
    fragment = web.get("/app/overview/week", auth=manager, headers={"HX-Request": "true"}).text
    assert fragment.startswith("<section") and 'id="overview-week"' in fragment
    html = web.get("/app/overview/week", auth=manager).text  # without htmx: the whole page
    rows = re.findall(r'<tr data-stage="(\w+)">.*?id="(trend-\d+)"', html, re.S)
    ids = dict(rows)
    # weeks ending 77, 70, ..., 7 and 0 days ago
    assert _series(html, ids["reach"]) == [0] * 11 + [3]
    assert _series(html, ids["acquisition"]) == [0] * 6 + [1] * 5 + [2]
    assert _series(html, ids["conversion"]) == [0] * 11 + [1]
    assert _series(html, "trend-conversions") == [0] * 11 + [1]
    assert _series(html, "trend-churned") == [0] * 12


def test_an_agent_gets_the_stage_trends_but_not_the_moves(seeded: Touchpoint) -> None:
    web = TestClient(create_app(seeded))
    html = web.get("/app/overview", auth=("web-agent", PASSWORDS["agent"])).text
    assert re.search(r'<tr data-stage="reach">.*?id="trend-\d+"', html, re.S)
    assert "trend-conversions" not in html and "/app/overview/week" not in html
    refused = web.get("/app/overview/week", auth=("web-agent", PASSWORDS["agent"]))
    assert refused.status_code == 403
