"""Identity guardrails on ingest (issue 9 §2): a placeholder identity (`undefined`, `null`,
`test@test.com`, …) never links or merges customers. The interaction is still stored — accepted
data is never lost — and told so in its result and in a file's import report; one left with no
other identity becomes a customer of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.http import bearer
from tests.api.test_segment_api import basic
from tests.builders import interaction
from touchpoint.errors import ConfigError
from touchpoint.ingest.report import IngestReport
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings, load_settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customers, identities, merges

NOT_AN_IDENTITY = "is a placeholder, not an identity; it was not used to find or link a customer"
OWN_CUSTOMER = "with no other identity, it is recorded under a new customer of its own"


def ingest(tp: Touchpoint, *items: dict[str, Any]) -> IngestReport:
    return tp.ingestor.ingest(enumerate(items))


def identity_keys(tp: Touchpoint) -> set[str]:
    with read_connection(tp.engine) as conn:
        return set(conn.scalars(select(identities.c.key)))


def counts(tp: Touchpoint) -> tuple[int, int]:
    """(customers, merges) stored."""
    with read_connection(tp.engine) as conn:
        people = conn.scalar(select(func.count()).select_from(customers))
        merged = conn.scalar(select(func.count()).select_from(merges))
    return int(people or 0), int(merged or 0)


def test_two_people_sending_test_at_test_com_stay_two_customers(tp: Touchpoint) -> None:
    report = ingest(
        tp,
        interaction(id="a1", email="test@test.com", anonymous_id="dev-ann"),
        interaction(id="b1", email="Test@Test.com", anonymous_id="dev-bob"),
    )
    ann, bob = report.results
    assert (ann.status, bob.status) == ("accepted", "accepted")
    assert ann.customer_id != bob.customer_id
    assert ann.warnings == (f"customer.email: 'test@test.com' {NOT_AN_IDENTITY}",)
    assert bob.warnings == (f"customer.email: 'Test@Test.com' {NOT_AN_IDENTITY}",)
    assert identity_keys(tp) == {"anonymous_id:dev-ann", "anonymous_id:dev-bob"}
    assert counts(tp) == (2, 0)


def test_two_people_with_user_id_undefined_are_not_merged(tp: Touchpoint) -> None:
    report = ingest(
        tp,
        interaction(id="a1", external_id="undefined", email="ann@example.com"),
        interaction(id="b1", external_id="undefined", email="bob@example.com"),
        interaction(id="a2", external_id="undefined", email="ann@example.com"),
    )
    ann, bob, ann_again = report.results
    assert ann.customer_id != bob.customer_id
    assert ann_again.customer_id == ann.customer_id  # her email still finds her
    assert identity_keys(tp) == {"email:ann@example.com", "email:bob@example.com"}
    assert counts(tp) == (2, 0)


def test_an_interaction_with_only_placeholders_is_stored_as_its_own_customer(
    tp: Touchpoint,
) -> None:
    report = ingest(
        tp,
        interaction(id="n1", external_id="null"),
        interaction(id="n2", external_id="null", phone="000-000-0000"),
    )
    first, second = report.results
    assert (first.status, second.status) == ("accepted", "accepted")
    assert first.customer_id != second.customer_id
    assert first.warnings == (
        f"customer.external_id: 'null' {NOT_AN_IDENTITY}",
        OWN_CUSTOMER + " (never merged)",
    )
    assert second.warnings[1] == f"customer.phone: '000-000-0000' {NOT_AN_IDENTITY}"
    assert identity_keys(tp) == set()
    assert counts(tp) == (2, 0)
    again = ingest(tp, interaction(id="n1", external_id="null"))  # the same item sent again
    assert [r.status for r in again.results] == ["duplicate"]


def test_a_good_identity_beside_a_placeholder_still_links(tp: Touchpoint) -> None:
    first = ingest(tp, interaction(id="k1", email="kim@example.com")).results[0]
    second = ingest(tp, interaction(id="k2", email="kim@example.com", external_id="0")).results[0]
    assert second.customer_id == first.customer_id
    assert second.warnings == (f"customer.external_id: '0' {NOT_AN_IDENTITY}",)


# --- Segment, through the API -------------------------------------------------------------


def test_segment_identify_with_user_id_null_does_not_merge(
    client: TestClient, ingest_key: str, tp: Touchpoint
) -> None:
    batch = [
        {
            "type": "identify",
            "messageId": "i1",
            "userId": "null",
            "anonymousId": "dev-1",
            "traits": {"email": "ann@example.com"},
        },
        {
            "type": "identify",
            "messageId": "i2",
            "userId": "null",
            "anonymousId": "dev-2",
            "traits": {"email": "bob@example.com"},
        },
        {"type": "alias", "messageId": "i3", "userId": "u-ann", "previousId": "undefined"},
        {"type": "alias", "messageId": "i4", "userId": "u-bob", "previousId": "undefined"},
    ]
    answer = client.post("/v1/batch", json={"batch": batch}, headers=basic(ingest_key)).json()
    assert answer["accepted"] == 4 and answer["rejected"] == []
    assert counts(tp) == (4, 0)  # two identified devices, two aliased users: no merge at all
    assert identity_keys(tp) == {
        "anonymous_id:dev-1",
        "email:ann@example.com",
        "anonymous_id:dev-2",
        "email:bob@example.com",
        "external_id:u-ann",
        "external_id:u-bob",
    }


def test_the_api_tells_each_item_what_was_left_out(client: TestClient, ingest_key: str) -> None:
    items = [
        interaction(id="w1", email="noemail@gmail.com", anonymous_id="d-9"),
        interaction(id="w2"),
    ]
    results = client.post("/v1/interactions/batch", json=items, headers=bearer(ingest_key)).json()
    assert [r["status"] for r in results["results"]] == ["accepted", "accepted"]
    assert results["results"][0]["warnings"] == [
        f"customer.email: 'noemail@gmail.com' {NOT_AN_IDENTITY}"
    ]
    assert results["results"][1]["warnings"] is None


# --- a file's report ----------------------------------------------------------------------


def test_an_import_report_counts_and_names_the_rows_with_placeholders(
    tp: Touchpoint, tmp_path: Path
) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "id,type,channel,occurred_at,email,external_id\n"
        "c1,call,phone,2026-02-01T10:00:00Z,ann@example.com,\n"
        "c2,call,phone,2026-02-01T11:00:00Z,test@test.com,u-1\n"
        "c3,call,phone,2026-02-01T12:00:00Z,bob@example.com,undefined\n"
    )
    report = import_file(tp, path)  # keep_results=False, as the CLI imports
    assert report.accepted == 3 and report.warned == 2
    assert report.warnings == [
        "2 stored item(s) carried a placeholder identity that was not used to find or link a "
        "customer (line 3: customer.email: 'test@test.com'; "
        "line 4: customer.external_id: 'undefined')"
    ]


# --- the list is configurable -------------------------------------------------------------


def opened(settings: Settings, **update: Any) -> Touchpoint:
    return open_touchpoint(settings.model_copy(update=update))


def test_an_extended_list_adds_to_the_defaults(settings: Settings) -> None:
    tp = opened(settings, extend_junk_identifiers=["guest@shop.example"])
    try:
        report = ingest(
            tp,
            interaction(id="g1", email="guest@shop.example", anonymous_id="d1"),
            interaction(id="g2", email="guest@shop.example", anonymous_id="d2"),
            interaction(id="g3", external_id="undefined", anonymous_id="d3"),
        )
        assert len({r.customer_id for r in report.results}) == 3
        assert all(r.warnings for r in report.results)
    finally:
        tp.close()


def test_a_replaced_list_is_the_only_one(settings: Settings) -> None:
    tp = opened(settings, junk_identifiers=["guest"])
    try:
        report = ingest(
            tp,
            interaction(id="r1", external_id="undefined", anonymous_id="d1"),
            interaction(id="r2", external_id="undefined", anonymous_id="d2"),
            interaction(id="r3", external_id="guest", anonymous_id="d3"),
        )
        first, second, third = report.results
        assert first.customer_id == second.customer_id  # "undefined" is an id again
        assert third.customer_id != first.customer_id and third.warnings
    finally:
        tp.close()


def test_the_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_EXTEND_JUNK_IDENTIFIERS", '["guest", "email:x@shop.example"]')
    settings = load_settings()
    assert settings.junk().is_junk("external_id", "guest")
    assert settings.junk().is_junk("external_id", "undefined")
    monkeypatch.setenv("TOUCHPOINT_JUNK_IDENTIFIERS", "[]")
    replaced = load_settings().junk()
    assert replaced.is_junk("external_id", "guest")  # the extension stays
    assert not replaced.is_junk("external_id", "undefined")
    monkeypatch.delenv("TOUCHPOINT_EXTEND_JUNK_IDENTIFIERS")
    assert not load_settings().junk()  # the guard is off
    monkeypatch.setenv("TOUCHPOINT_JUNK_IDENTIFIERS", '["*"]')
    with pytest.raises(ConfigError, match="TOUCHPOINT_JUNK_IDENTIFIERS.*names no value"):
        load_settings()
