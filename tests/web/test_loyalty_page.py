"""The loyalty page over HTTP on the seeded business (conftest: Ann, Bo, Cy, Dee, Eve and a
sixth who only looked) with a policy of silver at 100 points, gold at 500 and 50 points per
referral. By hand: Ann was set gold and holds 600 points (still gold), Bo silver with 150 (still
silver), Cy silver with 20 (due no tier: a move), Dee "vip" by a playbook with none (due no tier:
a move); four more customers come with referrals — Fay referred by Ann and then bought (her
reward paid by the job), Gus referred and not bought (waiting), Hal bought before being referred
(never rewarded), Ivy's referral names nobody (not counted). So: 10 customers, gold 1, silver 2,
vip 1, no tier 6; 2 moves due; referred 3: rewarded 1, waiting 1, bought and not rewarded 1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import interaction
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import loyalty

POLICY = """[[tiers]]
name = "silver"
points = 100

[[tiers]]
name = "gold"
points = 500

[referrals]
reward_points = 50
"""
NOW = datetime.now(UTC).replace(microsecond=0)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _entry(email: str, name: str, days: float, **properties: Any) -> dict[str, Any]:
    return interaction(type="custom", name=name, email=email, at=_ago(days), properties=properties)


def _history() -> list[dict[str, Any]]:
    return [
        _entry("ann@example.com", "loyalty_points", 9, points=600, reason="order"),
        _entry("ann@example.com", "loyalty_tier", 8, tier="gold"),
        _entry("bo@example.com", "loyalty_points", 9, points=150, reason="order"),
        _entry("bo@example.com", "loyalty_tier", 8, tier="silver"),
        _entry("cy@example.com", "loyalty_points", 9, points=20, reason="order"),
        _entry("cy@example.com", "loyalty_tier", 8, tier="silver"),
        _entry("dee@example.com", "loyalty_tier", 8, tier="vip"),
        interaction(
            type="referral",
            email="fay@example.com",
            at=_ago(6),
            properties={"referrer_email": "ann@example.com"},
        ),
        interaction(type="purchase", email="fay@example.com", at=_ago(5), revenue=30.0),
        interaction(
            type="referral",
            email="gus@example.com",
            at=_ago(4),
            properties={"referrer_email": "ann@example.com"},
        ),
        interaction(type="purchase", email="hal@example.com", at=_ago(10), revenue=12.0),
        interaction(
            type="referral",
            email="hal@example.com",
            at=_ago(2),
            properties={"referrer_email": "bo@example.com"},
        ),
        interaction(type="referral", email="ivy@example.com", at=_ago(2), properties={}),
    ]


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    return TestClient(create_app(seeded))


@pytest.fixture
def with_policy(seeded: Touchpoint, web: TestClient) -> TestClient:
    (seeded.settings.data_dir / "loyalty.toml").write_text(POLICY, encoding="utf-8")
    report = seeded.ingestor.ingest(list(enumerate(_history())))
    assert {r.status for r in report.results} == {"accepted"}
    paid = loyalty.reward_referrals(seeded)  # the job's referral rewards (Fay's, to Ann)
    assert len(paid) == 1
    return web


def _counts(html: str, table: str, attribute: str) -> dict[str, str]:
    part = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    return dict(
        re.findall(rf'<tr {attribute}="([^"]+)">.*?<td class="count">([\d,]+)</td></tr>', part)
    )


def test_customers_per_tier_and_the_referrals(with_policy: TestClient) -> None:
    answer = with_policy.get("/app/loyalty", auth=("web-analyst", PASSWORDS["analyst"]))
    assert answer.status_code == 200
    html = answer.text
    assert _counts(html, "tiers", "data-tier") == {
        "silver": "2",
        "gold": "1",
        "vip": "1",
        "no tier": "6",
    }
    assert re.findall(r'<dd class="customers">([^<]*)<', html) == ["10"]
    assert re.findall(r'<dd class="moves">([^<]*)<', html) == ["2"]  # Cy and Dee
    assert "100 points" in html and "500 points" in html and "set by playbooks" in html
    assert _counts(html, "referrals", "data-state") == {
        "rewarded": "1",
        "waiting": "1",
        "unrewarded": "1",
        "referred": "3",
    }
    assert "awarded 50 points" in html
    assert 'id="tiers-chart"' in html and 'id="referrals-chart"' in html  # beside the tables
    assert "No tiers are set" not in html
    assert 'href="/app/loyalty"' in html  # in the navigation


def test_without_tiers_it_says_so_and_names_the_file(seeded: Touchpoint, web: TestClient) -> None:
    answer = web.get("/app/loyalty", auth=("web-admin", PASSWORDS["admin"]))
    assert answer.status_code == 200
    assert "No tiers are set" in answer.text
    assert f"<code>{seeded.settings.data_dir / 'loyalty.toml'}</code>" in answer.text
    assert _counts(answer.text, "tiers", "data-tier") == {"no tier": "6"}
    assert _counts(answer.text, "referrals", "data-state")["referred"] == "0"


def test_an_agent_may_not_open_it(web: TestClient) -> None:
    assert web.get("/app/loyalty", auth=("web-agent", PASSWORDS["agent"])).status_code == 403
