"""The README's example interaction names nobody in the demo: importing it must not edit a
demo customer's profile."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from touchpoint.demo.generator import generate_interactions
from touchpoint.domain.identity import normalize_email, normalize_phone

README = Path(__file__).resolve().parents[2] / "README.md"
END = datetime(2026, 12, 1, tzinfo=UTC)  # one end stands for all: 202 is no demo area code
# and every demo address carries a last name, whenever the business ends


def test_the_readme_example_identities_are_not_demo_identities() -> None:
    block = re.search(r"### An interaction\s+```json\n(.*?)```", README.read_text(), re.S)
    assert block, "the README has an example interaction"
    example = orjson.loads(block.group(1))["customer"]
    phone, email = normalize_phone(example["phone"]), normalize_email(example["email"])
    phones, emails = set(), set()
    for item in generate_interactions(5_000, seed=7, end=END):  # the demo's default business
        who = item.get("customer", {})
        if who.get("phone"):
            phones.add(normalize_phone(who["phone"]))
        if who.get("email"):
            emails.add(normalize_email(who["email"]))
    assert phones and emails
    assert phone not in phones and email not in emails
