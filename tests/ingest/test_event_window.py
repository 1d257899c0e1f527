"""The plausibility window for an interaction's moment (issue 9 §1): configurable in settings
(default 1970-01-01 to the server's clock + 1 day), applied on every ingest path — the API's
interactions and batch, Segment's calls and batch, CSV and JSONL files — with one message naming
the field and the window, the rest of a batch or file landing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.api.test_segment_api import basic
from tests.builders import interaction
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.errors import ConfigError
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings, load_settings

TOO_EARLY = "1969-12-31T23:59:59Z"  # one second before the default window opens
FIRST = "1970-01-01T00:00:00Z"  # the window's first moment


def later(**span: float) -> str:
    """A moment `span` past the wall clock, as ISO text."""
    return (datetime.now(UTC) + timedelta(**span)).isoformat()


def before_window(moment: str, field: str = "occurred_at") -> str:
    return f"{field}: {moment} is before the plausible window for an interaction, 1970-01-01T00:00:00Z to "


# --- the settings -----------------------------------------------------------------------------


def test_the_window_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_EVENT_EARLIEST", "2000-06-15")
    monkeypatch.setenv("TOUCHPOINT_EVENT_FUTURE_TOLERANCE", "12h")
    settings = load_settings()
    assert settings.event_earliest == datetime(2000, 6, 15, tzinfo=UTC)
    assert settings.event_future_tolerance == timedelta(hours=12)
    monkeypatch.setenv("TOUCHPOINT_EVENT_FUTURE_TOLERANCE", "P2D")  # ISO 8601 too
    assert load_settings().event_future_tolerance == timedelta(days=2)


def test_the_default_window_is_1970_to_a_day_ahead() -> None:
    settings = Settings()
    assert settings.event_earliest == datetime(1970, 1, 1, tzinfo=UTC)
    assert settings.event_future_tolerance == timedelta(days=1)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EARLIEST", "1850-01-01", "event_earliest: '1850-01-01' is before 1900"),
        ("EARLIEST", "2999-01-01", "is in the future: nothing could be ingested"),
        ("EARLIEST", "1700000000", "is a number, not a moment"),
        ("FUTURE_TOLERANCE", "400d", "event_future_tolerance: must be 0 to 365 days"),
        ("FUTURE_TOLERANCE", "soon", "TOUCHPOINT_EVENT_FUTURE_TOLERANCE"),
    ],
)
def test_a_window_that_cannot_be_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"TOUCHPOINT_EVENT_{variable}", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert message in str(refused.value)


# --- every path, default window -------------------------------------------------------------


def test_the_api_refuses_a_moment_outside_the_window_and_keeps_the_rest(
    client: TestClient, ingest_key: str
) -> None:
    early = interaction(
        id="w-early", email="w@example.com", at=datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
    )
    single = client.post("/v1/interactions", json=early, headers=bearer(ingest_key))
    assert single.status_code == 422
    assert single.json()["detail"].startswith(before_window("1969-12-31T23:59:59+00:00"))
    assert single.json()["detail"].endswith("(the server's clock + 1 day)")
    items = [
        early,
        interaction(id="w-first", email="w@example.com", at=datetime(1970, 1, 1, tzinfo=UTC)),
        interaction(id="w-soon", email="w@example.com") | {"occurred_at": later(hours=23)},
        interaction(id="w-late", email="w@example.com") | {"occurred_at": later(hours=25)},
    ]
    batch = client.post("/v1/interactions/batch", json=items, headers=bearer(ingest_key)).json()
    assert [r["status"] for r in batch["results"]] == [
        "rejected",
        "accepted",
        "accepted",
        "rejected",
    ]
    late = batch["results"][3]["reason"]
    assert (
        late.startswith("occurred_at: ") and "is in the future, after the plausible window" in late
    )


def test_segment_calls_and_batches_keep_to_the_window(client: TestClient, ingest_key: str) -> None:
    message = {"userId": "u-w", "event": "Signed Up", "timestamp": TOO_EARLY}
    single = client.post("/v1/track", json=message, headers=basic(ingest_key))
    assert single.status_code == 400
    assert single.json()["detail"].startswith(
        "track: " + before_window("1969-12-31T23:59:59+00:00")
    )
    batch = [
        {"type": "track", **message, "messageId": "s-early"},
        {"type": "track", **message, "messageId": "s-first", "timestamp": FIRST},
        {"type": "track", **message, "messageId": "s-late", "timestamp": later(days=2)},
    ]
    answer = client.post("/v1/batch", json={"batch": batch}, headers=basic(ingest_key)).json()
    assert answer["accepted"] == 1
    assert [(r["index"], r["messageId"]) for r in answer["rejected"]] == [
        (0, "s-early"),
        (2, "s-late"),
    ]
    assert "is in the future, after the plausible window" in answer["rejected"][1]["reason"]


def test_files_report_each_row_outside_the_window_by_line(tp: Touchpoint, tmp_path: Path) -> None:
    csv_file = tmp_path / "calls.csv"
    csv_file.write_text(
        "id,type,channel,occurred_at,email\n"
        f"c1,call,phone,{TOO_EARLY},a@example.com\n"
        f"c2,call,phone,{FIRST},a@example.com\n"
        f"c3,call,phone,{later(days=3)},a@example.com\n"
    )
    report = import_file(tp, csv_file, keep_results=True)
    assert report.accepted == 1
    assert [r.position for r in report.rejected] == [2, 4]
    assert (report.rejected[0].reason or "").startswith(before_window("1969-12-31T23:59:59+00:00"))
    jsonl = tmp_path / "events.jsonl"
    rows = [
        interaction(id="j1", email="b@example.com") | {"occurred_at": TOO_EARLY},
        {"type": "track", "userId": "u-j", "event": "Signed Up", "timestamp": TOO_EARLY},
        {"type": "track", "userId": "u-j", "event": "Signed Up", "timestamp": FIRST},
    ]
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = import_file(tp, jsonl, keep_results=True)
    assert report.accepted == 1
    assert [r.position for r in report.rejected] == [1, 2]
    assert all(
        (r.reason or "").startswith(before_window("1969-12-31T23:59:59+00:00"))
        for r in report.rejected
    )


# --- a configured window --------------------------------------------------------------------


@pytest.fixture
def narrow(settings: Settings) -> Iterator[TestClient]:
    """The API over settings whose window is 2020-01-01 to the clock + 1 hour."""
    settings = settings.model_copy(
        update={
            "event_earliest": datetime(2020, 1, 1, tzinfo=UTC),
            "event_future_tolerance": timedelta(hours=1),
        }
    )
    touchpoint = open_touchpoint(settings)
    with TestClient(create_app(touchpoint)) as client:
        client.headers.update(bearer(new_key(touchpoint, "ingest")))
        yield client
    touchpoint.close()


def test_a_configured_window_is_the_one_applied(narrow: TestClient) -> None:
    items = [
        interaction(id="n1", email="n@example.com", at=datetime(2019, 12, 31, tzinfo=UTC)),
        interaction(id="n2", email="n@example.com", at=datetime(2020, 1, 1, tzinfo=UTC)),
        interaction(id="n3", email="n@example.com") | {"occurred_at": later(minutes=30)},
        interaction(id="n4", email="n@example.com") | {"occurred_at": later(hours=2)},
    ]
    results = narrow.post("/v1/interactions/batch", json=items).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted", "accepted", "rejected"]
    assert results[0]["reason"].startswith(
        "occurred_at: 2019-12-31T00:00:00+00:00 is before the plausible window for an "
        "interaction, 2020-01-01T00:00:00Z to "
    )
    assert results[0]["reason"].endswith("(the server's clock + 1 hour)")
    assert "is in the future, after the plausible window" in results[3]["reason"]
