"""The outbound campaigns pages over HTTP on the seeded business's center (conftest: support and
sales queues; the agent web-agent is ana, of support only): two campaigns from CSV lists, their
records open as listed, no call yet; names and numbers for a role that sees contact details;
an agent sees only their queue's campaign, and another's is not found."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import outbound


def as_(role: str) -> tuple[str, str]:
    return (f"web-{role}", PASSWORDS[role])


@pytest.fixture
def web(seeded: Touchpoint) -> tuple[TestClient, str, str]:
    spring = outbound.create_campaign(
        seeded,
        name="spring",
        queue="sales",
        settings={},
        csv_text="phone,name\n+12125550101,Ann\n+12125550102,Ben\nnot a number,Cy\n",
        actor="test",
    )
    help_ = outbound.create_campaign(
        seeded,
        name="help",
        queue="support",
        settings={},
        csv_text="phone\n+12125550103\n",
        actor="test",
    )
    return TestClient(create_app(seeded)), spring.campaign.id, help_.campaign.id


def _row(html: str, campaign: str) -> dict[str, str]:
    row = html.split(f'data-campaign="{campaign}"', 1)[1].split("</tr>", 1)[0]
    return dict(re.findall(r'<td class="count (\w+)">([^<]*)</td>', row))


def test_the_list_shows_each_campaign_s_records_and_rates(web: tuple[TestClient, str, str]) -> None:
    client, spring, help_ = web
    page = client.get("/app/campaigns", auth=as_("manager"))
    assert page.status_code == 200
    assert _row(page.text, spring) == {"open": "2", "closed": "0", "answer": "–", "drop": "–"}
    assert _row(page.text, help_)["open"] == "1"
    assert 'href="/app/campaigns"' in page.text  # in the navigation


def test_a_campaign_shows_its_records_with_numbers_only_to_who_sees_contacts(
    web: tuple[TestClient, str, str],
) -> None:
    client, spring, _ = web
    manager = client.get(f"/app/campaigns/{spring}", auth=as_("manager")).text
    assert "+12125550101" in manager and "Ben" in manager
    assert re.search(r'<th scope="row">open</th><td class="count">2</td>', manager)
    analyst = client.get(f"/app/campaigns/{spring}", auth=as_("analyst"))
    assert analyst.status_code == 200
    assert "+12125550101" not in analyst.text and "Ben" not in analyst.text


def test_an_agent_sees_only_their_queue_s_campaigns(web: tuple[TestClient, str, str]) -> None:
    client, spring, help_ = web
    listed = client.get("/app/campaigns", auth=as_("agent")).text
    assert f'data-campaign="{help_}"' in listed and f'data-campaign="{spring}"' not in listed
    assert client.get(f"/app/campaigns/{spring}", auth=as_("agent")).status_code == 404
    assert client.get(f"/app/campaigns/{help_}", auth=as_("agent")).status_code == 200
