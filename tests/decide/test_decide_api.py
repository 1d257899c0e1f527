"""GET /v1/decide on both engines: the rule that fires from what the log holds (identify, page
views), the decision shown written once per visitor, rule and minute, `record=false` writing
nothing, and who may learn what: a browser key asks by anonymous id only, from its page's
origin, and never gets a personal answer; bad input is a 4xx naming the problem."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.http import bearer
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.domain.decisions import DECISION_SHOWN
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import decide as decide_service
from touchpoint.services.keys import create_key
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import interactions

PAGE = "https://shop.example.com"
RULES = """
[[rule]]
name = "greet_known"
action = "greet"
known = true
page = "/"
message = "Welcome back, {first_name}!"

[[rule]]
name = "pricing_chat"
action = "offer_chat"
page = "/pricing*"
views = 3
within = "10m"
message = "Questions about pricing?"
"""


@pytest.fixture
def decide_tp(settings: Settings, tmp_path: Path) -> Iterator[Touchpoint]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    tp = open_touchpoint(settings.model_copy(update={"decision_rules_file": rules}))
    yield tp
    tp.close()


@pytest.fixture
def api(decide_tp: Touchpoint) -> Iterator[TestClient]:
    with TestClient(create_app(decide_tp)) as client:
        yield client


def visit(tp: Touchpoint) -> None:
    """Ann identifies, then views /pricing three times in the last 8 minutes, the last 10 s ago
    (the page the widget asks about: its view is recorded, so it is not counted twice)."""
    now = datetime.now(UTC)
    who = {"anonymous_id": "anon-ann", "email": "ann@example.com"}
    items = [
        {
            "id": "ann-identify",
            "type": "identify",
            "channel": "web",
            "occurred_at": (now - timedelta(days=3)).isoformat(),
            "customer": who,
            "traits": {"first_name": "Ann"},
        },
        *[
            {
                "id": f"ann-pricing-{s}",
                "type": "page_view",
                "channel": "web",
                "occurred_at": (now - timedelta(seconds=s)).isoformat(),
                "customer": {"anonymous_id": "anon-ann"},
                "properties": {"path": "/pricing", "url": f"{PAGE}/pricing"},
            }
            for s in (480, 240, 10)
        ],
    ]
    report = tp.ingestor.ingest(enumerate(items))
    assert report.accepted == 4


def shown(tp: Touchpoint) -> list[dict]:
    """The decisions shown in the log, once the API's writer thread has written them all."""
    decide_service.flush_shown(tp)
    t = interactions.c
    with read_connection(tp.engine) as conn:
        rows = conn.execute(select(t.id, t.properties).where(t.name == DECISION_SHOWN)).all()
    return [row[1] for row in rows]


def test_a_known_customer_is_greeted_by_name_and_the_decision_is_logged_once(
    api: TestClient, decide_tp: Touchpoint
) -> None:
    visit(decide_tp)
    key = new_key(decide_tp, "manager")
    url = "/v1/decide?email=Ann@Example.com&page=https://shop.example.com/"
    first = api.get(url, headers=bearer(key))
    again = api.get(url, headers=bearer(key))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["action"], body["rule"]) == ("greet", "greet_known")
    assert body["message"] == "Welcome back, Ann!"
    assert body["customer_id"].startswith("cus_")
    assert again.json()["recorded"] == body["recorded"]
    assert shown(decide_tp) == [{"rule": "greet_known", "action": "greet", "page": f"{PAGE}/"}]


def test_third_pricing_view_offers_chat_and_record_false_writes_nothing(
    api: TestClient, decide_tp: Touchpoint
) -> None:
    visit(decide_tp)
    key = new_key(decide_tp, "read")
    found = api.get(
        "/v1/decide",
        params={"anonymous_id": "anon-ann", "page": "/pricing", "record": "false"},
        headers=bearer(key),
    ).json()
    assert (found["action"], found["rule"], found["recorded"]) == (
        "offer_chat",
        "pricing_chat",
        None,
    )
    assert found["reasons"] == [
        "on /pricing (matches /pricing*)",
        "3 views of /pricing* within 10m",
    ]
    assert shown(decide_tp) == []


def test_a_browser_key_asks_by_anonymous_id_from_its_page_and_gets_nothing_personal(
    api: TestClient, decide_tp: Touchpoint
) -> None:
    visit(decide_tp)
    with write_transaction(decide_tp.engine) as conn:
        secret = create_key(conn, scope="browser", origins=[PAGE])[1]
    headers = {**bearer(secret), "Origin": PAGE}
    home = api.get("/v1/decide?anonymous_id=anon-ann&page=/", headers=headers)
    assert home.status_code == 200, home.text
    assert home.headers["access-control-allow-origin"] == PAGE
    assert (home.json()["action"], home.json()["customer_id"]) == ("none", None)
    pricing = api.get("/v1/decide?anonymous_id=anon-ann&page=/pricing", headers=headers).json()
    assert (pricing["rule"], pricing["customer_id"]) == ("pricing_chat", None)
    by_email = api.get("/v1/decide?email=ann@example.com", headers=headers)
    assert by_email.status_code == 403
    assert "only by anonymous_id" in by_email.json()["detail"]
    elsewhere = api.get(
        "/v1/decide?anonymous_id=anon-ann",
        headers={**bearer(secret), "Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("", 422, "exactly one of anonymous_id, external_id, email, phone"),
        ("?anonymous_id=a&external_id=b", 422, "exactly one of"),
        ("?email=not-an-email", 422, "email"),
        ("?anonymous_id=a&record=maybe", 422, "record"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem(
    api: TestClient, decide_tp: Touchpoint, query: str, status: int, detail: str
) -> None:
    key = new_key(decide_tp, "manager")
    answer = api.get(f"/v1/decide{query}", headers=bearer(key))
    assert answer.status_code == status, answer.text
    assert detail in answer.text


def test_an_unknown_visitor_gets_an_answer_too(api: TestClient, decide_tp: Touchpoint) -> None:
    key = new_key(decide_tp, "manager")
    found = api.get("/v1/decide?anonymous_id=never-seen&page=/", headers=bearer(key)).json()
    assert (found["action"], found["customer_id"]) == ("none", None)


def test_decisions_shown_through_the_api_are_written_behind_once_each(
    api: TestClient, decide_tp: Touchpoint
) -> None:
    """The widget's path hands each decision to the writer thread: six requests for three
    visitors (each asking twice in the minute) are three decisions shown, all in the log once
    the writer has written what it was given."""
    visit(decide_tp)
    key = new_key(decide_tp, "manager")
    answers = [
        api.get(f"/v1/decide?email={who}&page=https://shop.example.com/", headers=bearer(key))
        for who in ("Ann@Example.com", "bob@example.com", "cy@example.com") * 2
    ]
    assert all(a.status_code == 200 for a in answers)
    recorded = {a.json()["recorded"] for a in answers} - {None}
    logged = shown(decide_tp)
    assert len(logged) == len(recorded) >= 1
    t = interactions.c
    with read_connection(decide_tp.engine) as conn:
        ids = set(conn.execute(select(t.id).where(t.name == DECISION_SHOWN)).scalars())
    assert ids == recorded


def test_a_decision_is_answered_while_every_connection_of_the_pool_is_held(
    settings: Settings, tmp_path: Path
) -> None:
    """The key check and the decision read on the server's event loop through an engine of their
    own: a read there that waited for the pool's connections could wait for ever, since the
    requests holding them may be waiting for the loop. Here the one connection is held by the
    test for the whole request; through the shared pool the request would time out (503)."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    tight = settings.model_copy(
        update={
            "decision_rules_file": rules,
            "pool_size": 1,
            "pool_max_overflow": 0,
            "pool_timeout_seconds": 0.5,
        }
    )
    tp = open_touchpoint(tight)
    try:
        visit(tp)
        key = new_key(tp, "read")
        asked = {"anonymous_id": "anon-ann", "page": "/pricing", "record": "false"}
        with TestClient(create_app(tp, background_jobs=False)) as client:
            assert client.get("/v1/decide", params=asked, headers=bearer(key)).status_code == 200
            with tp.engine.connect():  # the pool's only connection, held
                answer = client.get("/v1/decide", params=asked, headers=bearer(key))
        assert answer.status_code == 200, answer.text
        assert answer.json()["rule"] == "pricing_chat"
    finally:
        tp.close()
