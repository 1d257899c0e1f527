"""One person's journey into the shop: anonymous reach on ads, search, social or a friend's
invitation, then the signup that makes them known — and the relationship that follows."""

from __future__ import annotations

from typing import Any

from touchpoint.demo import marketing
from touchpoint.demo.catalog import (
    CAMPAIGNS,
    HEARD_FROM,
    ONBOARDING,
    REFER_A_FRIEND,
    RETARGETING,
    Campaign,
)
from touchpoint.demo.relationship import Referral, Relationship
from touchpoint.demo.timeline import DAY, HOUR, MINUTE

OFFICE = next(c for c in CAMPAIGNS if c.name == "office-coffee-b2b")
FAVOURITE = {"/products/espresso-machines": "machines", "/products/grinders": "grinders"}


class Journey(Relationship):
    def run(self, start: float, referral: Referral | None = None) -> None:
        ts = self.reach(start, referral)
        if ts is None:
            return
        ts = self.acquire(ts)
        self.live(ts)

    # --- reach ---------------------------------------------------------------------------
    def reach(self, ts: float, referral: Referral | None) -> float | None:
        """Anonymous touches before the person is known; the time they decide to sign up."""
        rng, person = self.rng, self.person
        if referral is not None:
            self.source = "referral"
            attribution = marketing.utm(REFER_A_FRIEND, rng)
            props = {
                "role": "referred",
                "referrer_external_id": referral.referrer,
                "invite_code": referral.code,
            }
            self.emit(ts, "referral", "web", self.web(), attribution=attribution, properties=props)
            self.emit(
                ts + 2,
                "page_view",
                "web",
                self.web(),
                attribution=attribution,
                properties={"url": "/invite"},
            )
            ts = marketing.browse(self, ts + 2, rng.randint(1, 4))
            return ts if rng.random() < REFER_A_FRIEND.quality else None
        roll = rng.random()
        if person.handles and roll < 0.12:
            return self.reach_on_social(ts)
        if person.b2b or roll < 0.8:
            return self.reach_by_ads(ts, OFFICE if person.b2b else marketing.pick_campaign(rng))
        organic = roll < 0.92
        self.source = "google" if organic else None
        search: dict[str, Any] = {"source": "google", "medium": "organic"}
        self.emit(
            ts,
            "page_view",
            "web",
            self.web(),
            attribution=search if organic else None,
            properties={"url": "/"},
        )
        ts = marketing.browse(self, ts, rng.randint(1, 5))
        return ts if rng.random() < 0.6 else None

    def reach_by_ads(self, ts: float, campaign: Campaign) -> float | None:
        rng = self.rng
        self.source, self.favour = campaign.source, FAVOURITE.get(campaign.landing)
        device = rng.randrange(2)
        landed = marketing.ad_touch(self, ts, campaign, device=device)
        if landed is not None:
            ts = marketing.browse(self, landed, rng.randint(0, 4), device=device)
            if rng.random() < 0.3 + 0.55 * campaign.quality:
                return ts
        if rng.random() < 0.5:  # retargeting gives the undecided a second look
            landed = marketing.ad_touch(self, self.later(ts, DAY, 10 * DAY), RETARGETING)
            if landed is not None and rng.random() < RETARGETING.quality:
                return marketing.browse(self, landed, rng.randint(1, 3))
        return None

    def reach_on_social(self, ts: float) -> float | None:
        """Engagement known only by a handle; the handle is tied to an email after signup."""
        rng = self.rng
        self.source, self.social_first = "social", True
        ts = marketing.social_engagement(self, ts, rng.randint(1, 5))
        if rng.random() < 0.3:
            ts = self.center.social_thread(self, ts, "sales").ended
        network = next(iter(self.person.handles))
        ts = self.later(ts, MINUTE, 2 * DAY)
        self.emit(
            ts,
            "page_view",
            "web",
            self.web(),
            attribution={"source": network, "medium": "social"},
            properties={"url": "/"},
        )
        ts = marketing.browse(self, ts, rng.randint(1, 4))
        return ts if rng.random() < 0.6 else None

    # --- acquisition ---------------------------------------------------------------------
    def acquire(self, ts: float) -> float:
        """The signup (or lead form) that stitches the anonymous history to the person."""
        rng, person = self.rng, self.person
        ts = self.later(ts, MINUTE, 4 * DAY)
        phone_first = person.phone is not None and not person.b2b and rng.random() < 0.12
        if phone_first:
            ts = self.enquire_by_phone_then_email(ts)
        who = self.web() | {"email": person.email, "external_id": person.external_id}
        if person.phone and (phone_first or person.sms_opt_in or rng.random() < 0.5):
            who["phone"] = person.phone
        form = "lead_form" if person.b2b or rng.random() < 0.25 else "signup"
        purpose = (
            "office_quote" if person.b2b else rng.choice(("account", "newsletter", "discount_code"))
        )
        self.known, self.state = True, "lead"
        self.emit(ts, form, "web", who, traits=dict(person.traits), properties={"form": purpose})
        self.link_social(self.later(ts, HOUR, 60 * DAY))
        if rng.random() < 0.4:
            answer = rng.choice(HEARD_FROM.get(self.source, HEARD_FROM[None]))
            self.emit(
                ts + 60,
                "survey_response",
                "web",
                self.web(),
                properties={"survey": "how_did_you_hear", "answer": answer},
            )
        for day, template in zip((0, 3, 10), ONBOARDING, strict=True):
            marketing.marketing_email(
                self, ts + day * DAY + 120, template, open_rate=0.3 + 0.5 * person.engagement
            )
        if person.b2b:
            contact = self.center.call(self, self.later(ts, HOUR, 2 * DAY), "sales")
            if rng.random() < 0.6:
                self.emit(
                    contact.ended + DAY,
                    "trial_started",
                    "web",
                    self.by_account(),
                    properties={"plan": "office", "days": 14},
                )
        elif rng.random() < 0.2:
            channel = "phone" if person.phone and rng.random() < 0.4 else "chat"
            self.center.converse(self, channel, self.later(ts, HOUR, 5 * DAY), "sales")
        return ts

    def enquire_by_phone_then_email(self, ts: float) -> float:
        """A call known only by its number, then an email known only by its address: two
        profiles, until the signup carries both and identity resolution merges them."""
        ts = self.center.call(self, ts, "sales").ended
        ts = self.center.email_thread(self, self.later(ts, HOUR, 5 * DAY), "sales").ended
        return self.later(ts, 10 * MINUTE, 3 * DAY)

    def link_social(self, ts: float) -> None:
        person = self.person
        if not person.handles:
            return
        if self.social_first:  # they DM the shop from the account they engaged with
            network = next(iter(person.handles))
            props = {"network": network, "topic": "order_question"}
            self.emit(
                ts,
                "social_message",
                "social",
                self.by_handle() | {"email": person.email},
                properties=props,
            )
        else:  # they connect their social account in their settings
            self.emit(ts, "identify", "web", self.by_account() | {"handles": dict(person.handles)})
