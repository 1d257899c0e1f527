"""The pure privacy rules: what an erased person's interaction keeps, what another customer's
row loses when it names them, and the suppression list's hash."""

from __future__ import annotations

import hashlib

from touchpoint.domain.privacy import identity_hash, pseudonymised_properties, without_mentions


def test_an_erased_interaction_keeps_what_reports_and_stage_rules_read() -> None:
    properties = {
        "survey": "nps",
        "score": 9,
        "comment": "ask for Ann",
        "wait_s": 12.5,
        "address": "5 Elm St",
    }
    assert pseudonymised_properties(properties) == {"survey": "nps", "score": 9, "wait_s": 12.5}
    assert pseudonymised_properties(properties, also_kept={"address"})["address"] == "5 Elm St"
    heard = {"survey": "how_did_you_hear", "answer": "podcast", "name": "Ann"}
    assert pseudonymised_properties(heard) == {"survey": "how_did_you_hear", "answer": "podcast"}
    free = {"survey": "feedback", "answer": "I am Ann Lee"}  # another survey's answer is free text
    assert pseudonymised_properties(free) == {"survey": "feedback"}
    assert pseudonymised_properties(None) == {}


def test_another_rows_mentions_are_dropped_emails_inside_text_ids_only_whole() -> None:
    row = {
        "referrer_external_id": "CRM-100050",
        "order_id": "crm-1000501",  # longer: another value that merely contains the id
        "note": "forwarded from ann@example.com yesterday",
        "guests": ["ann@example.com", "bob@example.com"],
        "nested": {"by": "crm-100050", "kept": 1},
    }
    assert without_mentions(row, ["ann@example.com"], ["crm-100050"]) == {
        "order_id": "crm-1000501",
        "guests": ["bob@example.com"],
        "nested": {"kept": 1},
    }


def test_the_suppression_list_holds_the_sha256_of_the_normalised_key() -> None:
    key = "email:ann@example.com"
    assert identity_hash(key) == hashlib.sha256(b"email:ann@example.com").hexdigest()
    assert "ann" not in identity_hash(key)
