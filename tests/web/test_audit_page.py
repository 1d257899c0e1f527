"""The audit trail page over HTTP for an admin, on the seeded business (conftest) with entries
written here: newest first, filtered by action, actor, subject and start moment, 50 a page with
a link to the older ones; a customer subject links to the 360; a manager is refused; a bad
moment or action is a 422 naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.store.engine import write_transaction

ADMIN = ("web-admin", PASSWORDS["admin"])


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    with write_transaction(seeded.engine) as conn:
        for n in range(60):
            audit.record(conn, "cli:pager", "customer.view", f"cus_page{n:02d}")
        audit.record(conn, "cli:ann", "customer.merge", "cus_survivor", merged="cus_gone")
    return TestClient(create_app(seeded))


def _rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'<td class="actor">([^<]*)</td><td class="action">([^<]*)</td>\s*'
        r'<td class="subject">(?:<a href="[^"]*">)?([^<]*)',
        html,
    )


def test_the_trail_is_filtered_newest_first_and_paged(web: TestClient) -> None:
    merge = web.get("/app/audit?action=customer.merge", auth=ADMIN)
    assert merge.status_code == 200
    assert _rows(merge.text) == [("cli:ann", "customer.merge", "cus_survivor")]
    assert 'href="/app/customers/cus_survivor"' in merge.text and "merged: cus_gone" in merge.text
    first = web.get("/app/audit?actor=cli:pager", auth=ADMIN).text
    rows = _rows(first)
    assert len(rows) == 50 and rows[0][2] == "cus_page59" and rows[-1][2] == "cus_page10"
    assert "60 entries, newest first: 1 to 50." in first
    older = re.search(r'href="/app/audit\?([^"]+)">Older entries', first)
    assert older is not None
    rest = _rows(web.get("/app/audit?" + older[1].replace("&amp;", "&"), auth=ADMIN).text)
    assert [r[2] for r in rest] == [f"cus_page{n:02d}" for n in range(9, -1, -1)]
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert _rows(web.get(f"/app/audit?since={later}", auth=ADMIN).text) == []
    subject = _rows(web.get("/app/audit?subject=cus_page03", auth=ADMIN).text)
    assert subject == [("cli:pager", "customer.view", "cus_page03")]


def test_only_an_admin_reads_the_trail_and_bad_filters_name_their_field(web: TestClient) -> None:
    refused = web.get("/app/audit", auth=("web-manager", PASSWORDS["manager"]))
    assert refused.status_code == 403
    moment = web.get("/app/audit?since=yesterday", auth=ADMIN)
    assert moment.status_code == 422 and "since" in moment.text
    action = web.get("/app/audit?action=customer.dance", auth=ADMIN)
    assert action.status_code == 422 and "customer.dance" in action.text
