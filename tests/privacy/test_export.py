"""The privacy export: everything held about a person in one JSON document, recorded in the
audit trail; after an erasure it holds nothing that names them."""

from __future__ import annotations

import orjson

from tests.privacy.people import ANONYMOUS, CITY, EMAIL, ERASED, NAME, PHONE_E164, populate
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit, privacy
from touchpoint.store.engine import read_connection


def test_the_export_holds_profile_identities_merges_interactions_stages_and_consent(
    tp: Touchpoint,
) -> None:
    zelda = populate(tp)
    doc = privacy.export(tp, zelda, actor="cli:dpo")
    orjson.dumps(doc)  # one JSON document: nothing in it that JSON cannot carry
    assert doc["customer_id"] == zelda and len(doc["customer_ids"]) == 2
    (survivor, merged) = doc["profile"]
    assert survivor["traits"]["name"] == NAME and survivor["traits"]["city"] == CITY
    assert merged["merged_into"] == zelda
    assert sorted((i["kind"], i["value"]) for i in doc["identities"]) == [
        ("anonymous_id", ANONYMOUS),
        ("email", EMAIL),
        ("phone", PHONE_E164),
    ]
    (merge,) = doc["merges"]
    assert (merge["survivor_id"], merge["merged_id"]) == (zelda, merged["id"])
    ids = [i["id"] for i in doc["interactions"]]  # in the order they happened, both customers'
    assert ids == [f"z-{n}" for n in range(8)]
    assert doc["interactions"][3]["revenue"] == 120.0
    assert doc["lifecycle"]["stage"] == "retention"
    assert [t["to_stage"] for t in doc["lifecycle"]["history"]] == [
        "reach",
        "acquisition",
        "conversion",
        "retention",
    ]
    assert doc["consent"]["current"] == [
        {
            "channel": "email",
            "purpose": "newsletter",
            "status": "withdrawn",
            "since": "2026-01-01T13:00:00.000000Z",
        }
    ]
    assert doc["audit"] == []  # nobody had looked at her data before


def test_the_export_is_audited_and_lists_earlier_reads(tp: Touchpoint) -> None:
    zelda = populate(tp)
    privacy.export(tp, zelda, actor="cli:dpo")
    second = privacy.export(tp, zelda, actor="key_abc")
    assert [(e["actor"], e["action"]) for e in second["audit"]] == [("cli:dpo", "customer.export")]
    with read_connection(tp.engine) as conn:
        _total, entries = audit.entries(conn, action="customer.export", subject=zelda)
    assert [(e.actor, e.detail) for e in entries] == [
        ("key_abc", {"kind": "privacy"}),
        ("cli:dpo", {"kind": "privacy"}),
    ]


def test_after_erasure_the_export_names_nobody(tp: Touchpoint) -> None:
    zelda = populate(tp)
    privacy.erase(tp, zelda, actor="cli:dpo")
    doc = privacy.export(tp, zelda, actor="cli:dpo")
    text = orjson.dumps(doc).decode()
    assert not [n for n in ERASED if n in text]
    assert doc["identities"] == [] and doc["profile"][0]["traits"] == {}
    assert len(doc["interactions"]) == 8  # kept, pseudonymised
    assert all(i["identity_keys"] == [] for i in doc["interactions"])
    assert doc["lifecycle"]["stage"] == "retention"  # the stages are what they were
    assert doc["consent"]["current"][0]["status"] == "withdrawn"
