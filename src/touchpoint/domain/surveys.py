"""Survey answers inside an interaction's properties, read by one rule.

An answer comes either flat (`{"csat": 4}`, `{"nps": 9}`, `{"heard_about": "podcast"}`) or as
the demo and many survey tools send it (`{"survey": "csat", "score": 4}`,
`{"survey": "how_did_you_hear", "answer": "podcast"}`). The columnar copy extracts the same
columns in SQL (analytics/columnar.py); this is the rule for showing one interaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCORES = ("csat", "nps")  # numeric answers
HEARD_ABOUT = "heard_about"  # a text answer: where the customer heard of the business
HEARD_SURVEY = "how_did_you_hear"  # the survey name that carries heard_about as its answer


def survey_answers(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The survey answers `properties` holds, by name (csat, nps, heard_about); empty if none."""
    found: dict[str, Any] = {}
    for key in (*SCORES, HEARD_ABOUT):
        if properties.get(key) is not None:
            found[key] = properties[key]
    survey = properties.get("survey")
    if survey in SCORES and properties.get("score") is not None:
        found.setdefault(str(survey), properties["score"])
    if survey == HEARD_SURVEY and properties.get("answer") is not None:
        found.setdefault(HEARD_ABOUT, properties["answer"])
    return found
