"""A customer relationship after signup, stepped month by month: conversion, retention, loyalty and
advocacy — and for some, at risk, churn and win-back.

A customer's `satisfaction` (0..1) starts at their temperament and moves with every support case;
it sets their odds of opening email, buying again, recommending the shop, and leaving it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from random import Random

from touchpoint.demo import commerce, marketing
from touchpoint.demo.catalog import (
    CAMPAIGNS,
    CANCEL_REASONS_OTHER,
    CANCEL_REASONS_SERVICE,
    HELP_PAGES,
    NEWSLETTERS,
    PLANS,
    TICKET_CATEGORIES,
    WIN_BACK,
    Product,
)
from touchpoint.demo.people import Person
from touchpoint.demo.service import ContactCenter
from touchpoint.demo.support import support_case
from touchpoint.demo.timeline import DAY, HOUR, MINUTE, Timeline

MONTH = 30 * DAY
SUBSCRIBE_AT_CHECKOUT = 0.4  # of those who subscribe; the rest try a bag first
NEWSLETTER = next(c for c in CAMPAIGNS if c.name == "weekly-brew-newsletter")


@dataclass(frozen=True, slots=True)
class Referral:
    """An invitation a customer sent; the generator may turn it into a new person's journey."""

    at: float
    referrer: str  # the referrer's external_id
    code: str


def churn_hazard(satisfaction: float) -> float:
    """Monthly probability of leaving: low for the content, steep for the unhappy."""
    return 0.012 + 0.6 * (1.0 - satisfaction) ** 3


class Relationship(Timeline):
    """The state of one person's relationship with the shop, and how it evolves."""

    def __init__(
        self,
        person: Person,
        rng: Random,
        end: float,
        center: ContactCenter,
        referrals: deque[Referral],
    ) -> None:
        super().__init__(person, rng, end)
        self.center = center
        self.referrals = referrals  # invitations sent, for the generator to turn into people
        self.satisfaction = person.temperament
        self.source: str | None = None  # first touch, for the "how did you hear" survey
        self.favour: str | None = None  # the product category that brought them in
        self.social_first = False
        self.state = "prospect"  # → lead → customer → churned → (customer again)
        self.plan: str | None = None
        self.renews_at = end  # when the subscription's next box is charged
        self.unsubscribed = False
        self.poor_service = False  # their last support case went badly
        self.at_risk: list[tuple[float, Product, commerce.Basket]] = []  # may need support
        self.next_nps = end
        self.nps: int | None = None
        self.churns = 0
        self.churned_at = 0.0

    # --- the months after signup -------------------------------------------------------------
    def live(self, ts: float) -> None:
        rng = self.rng
        if rng.random() < 0.55:
            self.buy(self.later(ts, 10 * MINUTE, 10 * DAY), first=True)
        month, lead_months = ts + rng.uniform(5 * DAY, MONTH), 0
        while month < self.end:
            if self.state == "lead":
                lead_months += 1
                if not self.lead_month(month, lead_months):
                    return
            elif self.state == "customer":
                self.customer_month(month)
            else:
                comeback = self.win_back()
                if comeback is None:
                    return
                month = comeback
            month += MONTH
        self.bill(self.end)

    def lead_month(self, t0: float, months: int) -> bool:
        """Nurture email to a lead who has not bought; False once they have lost interest."""
        rng, person = self.rng, self.person
        for week in (0, 2):
            template = rng.choice(NEWSLETTERS)
            clicked = marketing.marketing_email(
                self,
                t0 + week * 7 * DAY,
                template,
                open_rate=0.6 * person.engagement,
                campaign=NEWSLETTER,
                url="/subscribe",
            )
            if clicked and rng.random() < 0.35:
                self.buy(t0 + week * 7 * DAY + HOUR, first=True)
                return True
        if months > 3 and rng.random() < 0.25:
            if rng.random() < 0.4:
                self.unsubscribe(t0 + rng.uniform(0, MONTH))
            return False
        return True

    def customer_month(self, t0: float) -> None:
        rng, person, s = self.rng, self.person, self.satisfaction
        self.bill(t0)
        if not self.unsubscribed:
            for week in range(3):
                url = rng.choice(("/products/beans", "/blog/pour-over-guide", "/gifts", "/"))
                marketing.marketing_email(
                    self,
                    t0 + week * 7 * DAY + rng.uniform(0, DAY),
                    rng.choice(NEWSLETTERS),
                    open_rate=person.engagement * (0.4 + s),
                    campaign=NEWSLETTER,
                    url=url,
                )
        if self.plan and rng.random() < 0.03 and not person.b2b:
            self.change_plan(t0 + rng.uniform(DAY, MONTH))
        for _ in range(rng.choice((0, 1, 1, 2))):
            marketing.browse(
                self, t0 + rng.uniform(0, MONTH), rng.randint(1, 3), device=rng.randrange(2)
            )
        if rng.random() < person.buy_rate * (0.2 + 1.6 * s):
            self.buy(t0 + rng.uniform(0, MONTH))
        self.support(t0 + rng.uniform(0, 15 * DAY))
        self.advocate(t0 + rng.uniform(0, MONTH))
        if rng.random() < churn_hazard(self.satisfaction):
            self.churn(t0 + rng.uniform(15 * DAY, MONTH))
        self.satisfaction += 0.1 * (person.temperament - self.satisfaction)

    # --- conversion ------------------------------------------------------------------------
    def buy(self, ts: float, *, first: bool = False) -> bool:
        rng = self.rng
        agent = rng.choice(self.center.agents["sales"]).id
        favour = self.favour if first else None
        basket = commerce.shop(self, ts, sales_agent=agent, favour=favour)
        if basket is None:
            return False
        ts = basket.bought_at
        if self.state != "customer":
            self.state = "customer"
            self.next_nps = min(self.next_nps, ts + rng.uniform(60, 150) * DAY)
        for product in basket.items:
            if product.category in TICKET_CATEGORIES:
                self.at_risk.append((ts + 120 * DAY, product, basket))
        subscribes = self.person.b2b or any(p.category == "beans" for p in basket.items)
        if self.plan is None and subscribes and rng.random() < (0.6 if first else 0.15):
            self.subscribe(ts, basket)
        if rng.random() < 0.08:
            self.review(self.later(ts, 5 * DAY, 30 * DAY), basket.items[0].sku)
        return True

    def subscribe(self, ts: float, basket: commerce.Basket) -> None:
        """A monthly box: chosen at checkout (the order is the first box), or after trying the
        first bag for a week or three (the first box is charged then). Renewals follow monthly."""
        if self.rng.random() < SUBSCRIBE_AT_CHECKOUT:
            starts = ts + 5
            self.plan = commerce.start_subscription(self, starts, with_order=basket.order_id)
        else:
            starts = self.later(ts, 7 * DAY, 25 * DAY)
            self.plan = commerce.start_subscription(self, starts)
        self.renews_at = starts + MONTH

    def bill(self, until: float) -> None:
        """Charge the subscription's boxes that fell due before `until` (one a month)."""
        while self.plan is not None and self.renews_at < until:
            commerce.renew(self, self.renews_at, self.plan)
            self.renews_at += MONTH

    def change_plan(self, ts: float) -> None:
        self.bill(ts)
        self.plan = self.rng.choice([p for p in PLANS if p not in (self.plan, "office")])
        self.emit(ts, "identify", "web", self.by_account(), traits={"plan": self.plan})

    # --- retention: support ----------------------------------------------------------------
    def support(self, ts: float) -> None:
        """Maybe a support case this month: a faulty product, an order or a billing question."""
        rng = self.rng
        self.at_risk = [risk for risk in self.at_risk if risk[0] > ts]
        faulty = next((r for r in self.at_risk if rng.random() < r[1].fault_rate), None)
        if faulty is not None:
            product, basket = faulty[1], faulty[2]
            category, sku = rng.choice(TICKET_CATEGORIES[product.category]), product.sku
        elif rng.random() < 0.03 + (0.03 if self.plan else 0.0):
            kind = "subscription" if self.plan and rng.random() < 0.5 else "order"
            category, sku, basket = rng.choice(TICKET_CATEGORIES[kind]), None, None
        else:
            return
        if rng.random() < 0.3:
            marketing.browse(self, ts - 20 * MINUTE, rng.randint(1, 2), pool=HELP_PAGES)
        experience = support_case(self.center, self, ts, category, sku)
        feeling = experience.score
        self.satisfaction = min(0.99, max(0.02, self.satisfaction + 0.8 * (feeling - 0.6)))
        self.poor_service = feeling < 0.4
        done = ts + 3 * DAY
        if basket is not None and rng.random() < (0.5 if not experience.resolved else 0.15):
            commerce.refund(
                self, done, basket, "faulty" if category.endswith("fault") else category
            )
        if self.poor_service and sku and rng.random() < 0.25:
            self.review(done + DAY, sku)

    # --- loyalty and advocacy --------------------------------------------------------------
    def advocate(self, ts: float) -> None:
        rng, s = self.rng, self.satisfaction
        if ts >= self.next_nps:
            self.nps_survey(ts)
        promoter = (self.nps or 0) >= 9 or s > 0.85
        if promoter and rng.random() < 0.06:
            self.refer(ts + HOUR)
        if rng.random() < 0.01:
            self.review(ts + DAY, rng.choice(("BB-BNS-HSE", "BB-BNS-ETH", "BB-GRD-050")))

    def nps_survey(self, ts: float) -> None:
        rng = self.rng
        self.next_nps = ts + rng.uniform(150, 210) * DAY
        self.emit(
            ts,
            "email_sent",
            "email",
            self.by_email(),
            direction="outbound",
            properties={"template": "nps_survey"},
        )
        if rng.random() < 0.4:
            self.nps = min(10, max(0, round(10 * self.satisfaction + rng.gauss(0.5, 1.2))))
            self.emit(
                self.later(ts, 10 * MINUTE, 3 * DAY),
                "survey_response",
                "email",
                self.by_email(),
                properties={"survey": "nps", "score": self.nps},
            )

    def refer(self, ts: float) -> None:
        code = self.serial("INV")
        via = self.rng.choice(("email", "whatsapp", "link"))
        self.emit(
            ts,
            "referral",
            "web",
            self.web(),
            properties={"role": "referrer", "invite_code": code, "via": via},
        )
        self.referrals.append(
            Referral(self.later(ts, HOUR, 10 * DAY), self.person.external_id, code)
        )

    def review(self, ts: float, sku: str) -> None:
        rating = min(5, max(1, round(1 + 4 * self.satisfaction + self.rng.gauss(0, 0.7))))
        site = self.rng.choice(("shop", "shop", "trustpilot", "google"))
        self.emit(
            ts, "review", "web", self.web(), properties={"rating": rating, "sku": sku, "site": site}
        )

    # --- at risk, churn and win-back -------------------------------------------------------
    def churn(self, ts: float) -> None:
        """They leave: most close their account, some just unsubscribe, the rest go quiet."""
        if self.plan is not None:  # not before the box they last paid for has arrived
            ts = max(ts, self.renews_at - MONTH + DAY)
        if self.plan is not None or self.rng.random() < 0.5:
            if not self.cancel(ts):
                return
        elif self.rng.random() < 0.6:
            self.unsubscribe(ts)
        self.state, self.churned_at, self.at_risk = "churned", ts, []
        self.churns += 1

    def cancel(self, ts: float) -> bool:
        """Cancel on the web, by email or by phone; False if a retention agent saves them."""
        rng, person = self.rng, self.person
        self.bill(ts)
        if person.phone and rng.random() < 0.4:
            call = self.center.retention_call(self, ts)
            if call.solved:
                self.satisfaction = min(0.99, self.satisfaction + 0.15)
                return False
            channel, who, ts = "phone", self.by_phone(), call.ended
        elif rng.random() < 0.7:
            channel, who = "web", self.by_account()
        else:
            channel, who = "email", self.by_email()
        reasons = CANCEL_REASONS_SERVICE if self.poor_service else CANCEL_REASONS_OTHER
        props = {"reason": rng.choice(reasons)}
        if self.plan:
            props["plan"] = self.plan
        self.emit(ts, "cancellation", channel, who, properties=props)
        self.plan = None
        return True

    def unsubscribe(self, ts: float) -> None:
        self.unsubscribed = True
        self.emit(ts, "unsubscribe", "email", self.by_email(), properties={"list": "marketing"})

    def win_back(self) -> float | None:
        """One win-back attempt after a churn; the time they came back, or None."""
        rng = self.rng
        ts = self.later(self.churned_at, 45 * DAY, 120 * DAY)
        if self.churns > 2 or ts >= self.end:
            return None
        clicked = False
        if not self.unsubscribed:
            clicked = marketing.marketing_email(
                self,
                ts,
                "win_back",
                open_rate=0.2 + 0.4 * self.person.engagement,
                campaign=WIN_BACK,
                url="/",
            )
        chance = (0.04 if self.poor_service else 0.1) + (0.35 if clicked else 0.0)
        if rng.random() >= chance:
            return None
        self.satisfaction = max(self.satisfaction, 0.6)
        back = self.later(ts, HOUR, 5 * DAY)
        self.state = "customer"
        if not self.buy(back):
            self.state = "churned"
            return None
        return back
