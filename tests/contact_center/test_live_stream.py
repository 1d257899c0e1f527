"""The live wallboard over Server-Sent Events against a real uvicorn server: a snapshot at once,
an update when a contact arrives, heartbeats, nothing buffered by the middleware, no database
connection held between looks, and the stream ending when the client goes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2
import orjson
import pytest

from tests.api.http import bearer
from tests.contact_center.center import T0, Center
from touchpoint.api import contact_center as cc_api
from touchpoint.contact_center import router
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center as service

CONFIG = """
[queues.support]
channels = ["phone", "chat"]
target = "80/20"

[agents.ana]
queues = ["support"]
"""

CALL = {"queue": "support", "channel": "phone", "customer": {"phone": "+1 415 555 0100"}}


def events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-sent events as dicts (event, data, id), and comments as {"comment": text}."""
    event: dict[str, Any] = {}
    for line in lines:
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif not line:
            if event:
                yield event
            event = {}
        else:
            field, _, value = line.partition(":")
            event[field] = value[1:] if value.startswith(" ") else value


def until(found: Iterator[dict[str, Any]], wanted: Any, seconds: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    for event in found:
        if wanted(event):
            return event
        assert time.monotonic() < deadline, "no such event in time"
    raise AssertionError("the stream ended")


def waiting(event: dict[str, Any]) -> int | None:
    if event.get("event") not in ("snapshot", "update"):
        return None
    return int(orjson.loads(event["data"])["queues"][0]["waiting"])


def test_a_wallboard_sees_a_contact_arrive(
    tp: Touchpoint,
    live_server: str,
    read_key: str,
    manager_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.apply_config(tp, text=CONFIG, actor="test")
    monkeypatch.setattr(cc_api, "HEARTBEAT_S", 1)
    looks = 0
    real = service.wallboard

    def counted(touchpoint: Touchpoint) -> dict[str, Any]:
        nonlocal looks
        looks += 1
        return real(touchpoint)

    monkeypatch.setattr(service, "wallboard", counted)
    url = f"{live_server}/v1/cc/live/stream?interval_ms=200"
    timeout = httpx2.Timeout(20.0)
    refused = httpx2.get(url, timeout=timeout)
    assert refused.status_code == 401
    with httpx2.stream(
        "GET", url, headers=bearer(read_key) | {"Accept-Encoding": "gzip"}, timeout=timeout
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in answer.headers  # streamed as it comes, not compressed
        assert "content-length" not in answer.headers
        found = events(answer.iter_lines())
        snapshot = next(found)
        assert snapshot["event"] == "snapshot" and waiting(snapshot) == 0
        picture = orjson.loads(snapshot["data"])
        assert picture["queues"][0]["today"]["offered"] == 0
        assert picture["sla_breaches"] == {"support": {"open": 0, "today": 0}}
        assert snapshot["id"] == str(picture["seq"])
        assert until(found, lambda e: "comment" in e)["comment"].startswith("ping")
        assert min(_checked_out(tp) for _ in range(10)) == 0  # none held between looks
        offered = httpx2.post(
            f"{live_server}/v1/cc/contacts", json=CALL, headers=bearer(manager_key), timeout=timeout
        )
        assert offered.status_code == 201 and offered.json()["status"] == "waiting"
        update = until(found, lambda e: waiting(e) == 1)
        assert update["event"] == "update" and int(update["id"]) > int(snapshot["id"])
        seen = orjson.loads(update["data"])["queues"][0]
        assert seen["queue"] == "support" and seen["agents"] == {"logged_out": 1}
    # The client went: the server stops looking (a look already under way may finish).
    deadline = time.monotonic() + 10
    while True:
        before = looks
        time.sleep(1)
        if looks == before:
            break
        assert time.monotonic() < deadline, "the stream kept polling after the client left"
    assert tp.engine.pool.checkedout() == 0


def _checked_out(tp: Touchpoint) -> int:
    time.sleep(0.037)
    return int(tp.engine.pool.checkedout())  # type: ignore[attr-defined]


def test_the_stream_needs_a_configuration(tp: Touchpoint, live_server: str, read_key: str) -> None:
    answer = httpx2.get(
        f"{live_server}/v1/cc/live/stream", headers=bearer(read_key), timeout=httpx2.Timeout(20.0)
    )
    assert answer.status_code == 409 and "no configuration" in answer.json()["detail"]


def test_the_figures_today_count_as_the_report_does(tp: Touchpoint) -> None:
    """Support's target is 80/20. c1 is offered to ana at once and accepted at 5 s (within),
    c2 hangs up at 4 s (a short abandon, within 20 s), c3 at 40 s (not within): SL 1/1, SL2
    (1 + 1) / (1 + 2), abandonment 2 / 3."""
    center = Center(tp)
    center.ready("ana")
    c1 = center.at(0).offer("support").id
    c2 = center.at(1).offer("support").id
    c3 = center.at(2).offer("support").id
    center.at(5).run(router.accept, c1, "ana")
    center.at(5).run(router.abandon, c2)
    center.at(42).run(router.abandon, c3)
    center.at(65).run(router.complete, c1, "ana", "resolved")
    with tp.engine.connect() as conn:
        _version, config = service.current_config(conn)
        today = service.today_figures(conn, config, T0.replace(hour=0))
        earlier = service.today_figures(conn, config, T0 + timedelta(minutes=2))
    support = today["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (3, 1, 2)
    assert support["short_abandoned"] == 1
    assert (support["sl"], support["sl2"]) == (1.0, pytest.approx(2 / 3))
    assert support["abandon_rate"] == pytest.approx(2 / 3)
    assert earlier == {}
