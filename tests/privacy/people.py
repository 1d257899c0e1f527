"""A person to export and erase, and a bystander who must be left as they are.

Zelda's eight interactions, by hand (minutes after T0):
  0 page_view web (anonymous)          -> customer A
 10 signup web (email, name, city)     -> customer B
 20 page_view web (anonymous + email)  -> merges B into A (the older survives)
 30 purchase web, revenue 120 (a note with her address)
 40 call phone, 300 s (phone; name traits change)
 50 survey_response email: csat 4 and a comment naming her
 60 unsubscribe email from the newsletter
 70 refund web, revenue -20
Bob: purchase web 50 at 5 (referred by Zelda's email), call phone 120 s at 15.

Per channel: web 5 + 1 = 6 interactions, revenue 120 - 20 + 50 = 150; phone 1 + 1 = 2; email 2.
"""

from __future__ import annotations

from tests.builders import interaction
from touchpoint.ingest.report import IngestReport
from touchpoint.runtime import Touchpoint

EMAIL = "zelda.quinlan@example.org"
PHONE = "+1 646 555 0177"
PHONE_E164 = "+16465550177"
ANONYMOUS = "anon-zq-7731"
NAME = "Zelda Quinlan"
CITY = "Quahogville"
ADDRESS = "5 Elmwood Terrace"
# What no file or row may hold after the erasure.
ERASED = (EMAIL, PHONE_E164, PHONE, ANONYMOUS, NAME, "Quinlan", CITY, ADDRESS)
BOB = "bob.bystander@example.com"


def zelda() -> list[dict]:
    return [
        interaction(id="z-0", anonymous_id=ANONYMOUS, at=0),
        interaction(
            id="z-1",
            type="signup",
            email=EMAIL,
            at=10,
            traits={"name": NAME, "city": CITY, "email": EMAIL},
        ),
        interaction(id="z-2", anonymous_id=ANONYMOUS, email=EMAIL, at=20),
        interaction(
            id="z-3",
            type="purchase",
            email=EMAIL,
            at=30,
            revenue=120.0,
            properties={"note": f"leave it at {ADDRESS}", "order_id": "o-1"},
        ),
        interaction(
            id="z-4",
            type="call",
            channel="phone",
            direction="inbound",
            email=EMAIL,
            phone=PHONE,
            at=40,
            duration_s=300,
            traits={"first_name": "Zelda", "last_name": "Quinlan", "phone": PHONE},
        ),
        interaction(
            id="z-5",
            type="survey_response",
            channel="email",
            email=EMAIL,
            at=50,
            properties={"survey": "csat", "score": 4, "comment": f"{NAME} loved it"},
        ),
        interaction(
            id="z-6",
            type="unsubscribe",
            channel="email",
            email=EMAIL,
            at=60,
            properties={"list": "newsletter"},
        ),
        interaction(id="z-7", type="refund", email=EMAIL, at=70, revenue=-20.0),
    ]


def bob() -> list[dict]:
    return [
        interaction(
            id="b-0",
            type="purchase",
            email=BOB,
            at=5,
            revenue=50.0,
            properties={"referred_by": EMAIL.upper(), "invite_code": "INV-7"},  # names her
        ),
        interaction(id="b-1", type="call", channel="phone", email=BOB, at=15, duration_s=120),
    ]


def ingest(tp: Touchpoint, *items: dict) -> IngestReport:
    return tp.ingestor.ingest(enumerate(items))


def populate(tp: Touchpoint) -> str:
    """Both people, one event at a time (each trait change rewrites the profile row, leaving
    old copies in free space for the erasure to clear); Zelda's customer id."""
    events = sorted(zelda() + bob(), key=lambda e: e["occurred_at"])
    owners = {}
    for event in events:
        report = ingest(tp, event)
        assert report.accepted == 1, report.results
        owners[event["id"]] = report.results[0].customer_id
    return str(owners["z-0"])  # the oldest of her two customers survived the merge
