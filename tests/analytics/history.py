"""A small hand-built history whose report numbers are worked out by hand in the tests.

Four customers (external ids a, b, c, d), everything inbound, noon UTC in 2026; traits: a has
segment "vip", b only country "DE" (so its segment is DE), c and d none ("unknown"):
  a  web: page_view Jan 1, signup Jan 5, call Jan 6 (ann took it, 300 s), purchase Jan 10 (100),
          purchase Feb 15 (50), refund Feb 20 (-20), csat 4 (flat property) Feb 21,
          nps 5 Feb 22, page_view Apr 2
  b  web: page_view Jan 3, cart_abandoned Jan 15, purchase Jan 20 (30), ticket T2 opened Jan 21
          and resolved Jan 23 (not first contact), csat 2 (survey/score shape) Jan 24
  c  web: page_view Feb 2, signup Feb 3, purchase Mar 5 (80), ticket T1 opened Mar 6 12:00 and
          resolved 18:00 (first contact), call Mar 6 (abandoned, 30 s), purchase Mar 25 (20),
          purchase Apr 7 (40), referral Apr 7, nps 10 Apr 8
  d  ad:  ad_click Mar 1, cart_abandoned Mar 2
Stage transitions (hand-written, replacing the engine's):
  a  reach Jan 1, acquisition Jan 5, conversion Jan 10, retention Feb 15
  b  reach Jan 3, conversion Jan 20, at_risk Mar 20
  c  reach Feb 2, acquisition Feb 3, conversion Mar 5, retention Mar 25, loyalty Apr 7
  d  reach Mar 1
"""

from __future__ import annotations

from typing import Any

from tests.analytics.conftest import Lab, day
from tests.builders import interaction


def _i(who: str, type: str, at: Any, channel: str = "web", **fields: Any) -> dict[str, Any]:
    return interaction(type=type, channel=channel, at=at, external_id=who, **fields)


def history_items() -> list[dict[str, Any]]:
    return [
        _i("a", "page_view", day(1, 1), traits={"segment": "vip", "country": "US"}),
        _i("a", "signup", day(1, 5)),
        _i(
            "a", "call", day(1, 6), channel="phone", agent="ann", outcome="answered", duration_s=300
        ),
        _i("a", "purchase", day(1, 10), revenue=100.0),
        _i("a", "purchase", day(2, 15), revenue=50.0),
        _i("a", "refund", day(2, 20), revenue=-20.0),
        _i("a", "survey_response", day(2, 21), channel="email", properties={"csat": 4}),
        _i("a", "survey_response", day(2, 22), properties={"survey": "nps", "score": 5}),
        _i("a", "page_view", day(4, 2)),
        _i("b", "page_view", day(1, 3), traits={"country": "DE"}),
        _i("b", "cart_abandoned", day(1, 15)),
        _i("b", "purchase", day(1, 20), revenue=30.0),
        _i("b", "ticket_opened", day(1, 21), channel="email", properties={"ticket_id": "T2"}),
        _i(
            "b",
            "ticket_resolved",
            day(1, 23),
            channel="email",
            properties={"ticket_id": "T2", "first_contact_resolution": False},
        ),
        _i("b", "survey_response", day(1, 24), properties={"survey": "csat", "score": 2}),
        _i("c", "page_view", day(2, 2)),
        _i("c", "signup", day(2, 3)),
        _i("c", "purchase", day(3, 5), revenue=80.0),
        _i("c", "ticket_opened", day(3, 6), channel="chat", properties={"ticket_id": "T1"}),
        _i(
            "c",
            "ticket_resolved",
            day(3, 6, 18),
            channel="chat",
            properties={"ticket_id": "T1", "first_contact_resolution": True},
        ),
        _i("c", "call", day(3, 6), channel="phone", outcome="abandoned", duration_s=30),
        _i("c", "purchase", day(3, 25), revenue=20.0),
        _i("c", "purchase", day(4, 7), revenue=40.0),
        _i("c", "referral", day(4, 7, 13)),
        _i("c", "survey_response", day(4, 8), properties={"survey": "nps", "score": 10}),
        _i("d", "ad_click", day(3, 1), channel="ad"),
        _i("d", "cart_abandoned", day(3, 2)),
    ]


TRANSITIONS = [
    ("a", None, "reach", day(1, 1)),
    ("a", "reach", "acquisition", day(1, 5)),
    ("a", "acquisition", "conversion", day(1, 10)),
    ("a", "conversion", "retention", day(2, 15)),
    ("b", None, "reach", day(1, 3)),
    ("b", "reach", "conversion", day(1, 20)),
    ("b", "conversion", "at_risk", day(3, 20)),
    ("c", None, "reach", day(2, 2)),
    ("c", "reach", "acquisition", day(2, 3)),
    ("c", "acquisition", "conversion", day(3, 5)),
    ("c", "conversion", "retention", day(3, 25)),
    ("c", "retention", "loyalty", day(4, 7)),
    ("d", None, "reach", day(3, 1)),
]


def load_history(lab: Lab) -> Lab:
    lab.ingest(history_items())
    lab.set_transitions(TRANSITIONS)
    return lab
