"""Privacy rules: what an erasure keeps of an interaction, and how an erased identity is
remembered without keeping it (a hash on the suppression list)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

# The properties an erased person's interactions keep: what the reports and the stage models
# read (survey scores, how they heard of us, tickets, contact-center measures, referral and
# review rules) and what consent history is derived from. Everything else in `properties` may
# hold what the person wrote or who they are, and is dropped.
KEPT_PROPERTIES: frozenset[str] = frozenset(
    {
        "csat",
        "nps",
        "survey",
        "score",
        "heard_about",
        "ticket_id",
        "first_contact_resolution",
        "wait_s",
        "role",
        "rating",
        "list",
        "purpose",
        "channel",
    }
)
# Kept only when it is a number or a choice from a short list: a survey's text `answer` is kept
# for "how did you hear about us" (a report reads it), never free text of another survey.
HEARD_SURVEY_ANSWER = ("survey", "how_did_you_hear", "answer")


def identity_hash(key: str) -> str:
    """The suppression list's form of a normalised identity key (`email:ann@example.com`):
    SHA-256 hex of its UTF-8 text. The key itself is never stored once erased."""
    return hashlib.sha256(key.encode()).hexdigest()


def identity_hashes(keys: Iterable[str]) -> dict[str, str]:
    """{hash: key} for the keys."""
    return {identity_hash(key): key for key in keys}


def pseudonymised_properties(
    properties: Mapping[str, Any] | None, also_kept: Iterable[str] = ()
) -> dict[str, Any]:
    """An erased person's interaction's properties: only the keys in KEPT_PROPERTIES (and
    `also_kept`, e.g. the properties the stage model in force reads), so counts, revenue, survey
    scores and stages computed from the log stay what they were."""
    if not properties:
        return {}
    kept = KEPT_PROPERTIES | set(also_kept)
    out = {k: v for k, v in properties.items() if k in kept}
    survey_key, survey, answer = HEARD_SURVEY_ANSWER
    if properties.get(survey_key) == survey and answer in properties:
        out[answer] = properties[answer]
    return out


def without_mentions(value: Any, contained: Iterable[str], exact: Iterable[str] = ()) -> Any:
    """`value` (a JSON value) less every entry whose text contains one of `contained` (emails:
    distinctive inside any text) or is one of `exact` (ids and phones, which could occur inside
    an unrelated longer value), any case: a friend's referral `{"referrer_external_id":
    "crm-100050"}` loses that entry, an order id `crm-1000501` does not."""
    inside = [n.lower() for n in contained if n]
    whole = {n.lower() for n in exact if n}

    def mentions(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        text = v.lower()
        return text.strip() in whole or any(n in text for n in inside)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items() if not mentions(x) and not mentions(k)}
        if isinstance(v, list):
            return [walk(x) for x in v if not mentions(x)]
        return v

    return walk(value)
