"""Shopping in a journey: carts, checkouts, orders, subscriptions, cancellations and refunds.

Revenue is signed money in (docs/decisions.md): refunds and cancelled orders carry the money given
back as a *negative* `revenue`, so a customer's net revenue is simply the sum.
"""

from __future__ import annotations

from typing import Any

from touchpoint.demo.catalog import PLANS, PRODUCT_WEIGHTS, PRODUCTS, Product
from touchpoint.demo.timeline import DAY, HOUR, MINUTE, Timeline


class Basket:
    def __init__(self, items: list[Product]) -> None:
        self.items = items
        self.value = round(sum(p.price for p in items), 2)
        self.order_id = ""
        self.bought_at = 0.0

    @property
    def skus(self) -> list[str]:
        return [p.sku for p in self.items]


def pick_basket(tl: Timeline, *, favour: str | None = None) -> Basket:
    rng = tl.rng
    weights = [
        w * (4 if p.category == favour else 1)
        for p, w in zip(PRODUCTS, PRODUCT_WEIGHTS, strict=True)
    ]
    count = rng.choice((1, 1, 1, 2, 2, 3))
    return Basket(rng.choices(PRODUCTS, weights, k=count))


def shopping_channel(tl: Timeline) -> str:
    person, roll = tl.person, tl.rng.random()
    if person.b2b and person.phone and roll < 0.4:
        return "phone"  # office managers often order through their sales rep
    if person.app_user and roll < 0.6:
        return "mobile_app"
    return "in_person" if roll > 0.97 else "web"


def shop(
    tl: Timeline, ts: float, *, sales_agent: str, favour: str | None = None, recover: float = 0.4
) -> Basket | None:
    """Browse, fill a cart and check out — or abandon it; returns the basket bought, if any."""
    rng = tl.rng
    basket = pick_basket(tl, favour=favour)
    channel = shopping_channel(tl)
    agent = sales_agent if channel == "phone" else None
    if channel == "web":
        who = tl.web()
    else:
        who = tl.by_phone() if channel == "phone" else tl.by_account()
    if channel in ("web", "mobile_app"):
        for product in basket.items:
            ts += rng.uniform(20, 5 * MINUTE)
            tl.emit(
                ts,
                "product_viewed",
                channel,
                who,
                properties={"sku": product.sku, "price": product.price},
            )
            tl.emit(
                ts + 30,
                "cart_added",
                channel,
                who,
                properties={"sku": product.sku, "price": product.price},
            )
        ts += rng.uniform(MINUTE, 10 * MINUTE)
        tl.emit(ts, "checkout_started", channel, who, properties={"cart_value": basket.value})
        if rng.random() < 0.25:
            tl.emit(
                ts + HOUR,
                "cart_abandoned",
                channel,
                who,
                properties={"cart_value": basket.value, "skus": basket.skus},
            )
            reminder = tl.later(ts, 3 * HOUR, DAY)
            tl.emit(
                reminder,
                "email_sent",
                "email",
                tl.by_email(),
                direction="outbound",
                properties={"template": "cart_recovery"},
            )
            if rng.random() >= recover:
                return None
            ts = tl.later(reminder, 10 * MINUTE, 2 * DAY)
    order(tl, ts, basket, channel, who, agent)
    return basket


def order(
    tl: Timeline,
    ts: float,
    basket: Basket,
    channel: str,
    who: dict[str, Any],
    agent: str | None = None,
) -> None:
    rng = tl.rng
    order_id = basket.order_id = tl.serial("O")
    basket.bought_at = ts
    props: dict[str, Any] = {"order_id": order_id, "items": len(basket.items), "skus": basket.skus}
    queue = "sales" if agent else None
    currency = tl.person.market.currency
    tl.emit(
        ts,
        "purchase",
        channel,
        who,
        agent=agent,
        queue=queue,
        revenue=basket.value,
        currency=currency,
        properties=props,
    )
    confirm(tl, ts, order_id)
    roll = rng.random()
    if roll < 0.04:  # sent back within the return window
        refund(tl, tl.later(ts, 5 * DAY, 30 * DAY), basket, "returned")
    elif roll < 0.07:
        cancelled = tl.later(ts, 10 * MINUTE, DAY)
        reason = rng.choice(("changed_mind", "found_cheaper", "ordered_by_mistake"))
        tl.emit(
            cancelled,
            "order_cancelled",
            "web",
            tl.by_account(),
            revenue=-basket.value,
            currency=currency,
            properties={"order_id": order_id, "reason": reason},
        )


def confirm(tl: Timeline, ts: float, order_id: str) -> None:
    """Transactional messages after an order: a confirmation email and a shipping text."""
    tl.emit(
        ts + 30,
        "email_sent",
        "email",
        tl.by_email(),
        direction="outbound",
        properties={"template": "order_confirmation", "order_id": order_id},
    )
    person = tl.person
    if person.sms_opt_in and person.phone:
        shipped = tl.later(ts, DAY, 3 * DAY)
        tl.emit(
            shipped,
            "sms_sent",
            "sms",
            {"phone": person.phone},
            direction="outbound",
            properties={"template": "shipped", "order_id": order_id},
        )
        if tl.rng.random() < 0.05:
            tl.emit(
                shipped + 600,
                "sms_received",
                "sms",
                {"phone": person.phone},
                properties={"text": "Thanks!", "order_id": order_id},
            )


def start_subscription(tl: Timeline, ts: float, *, with_order: str | None = None) -> str:
    """A monthly box subscription starts; the plan chosen. Started at checkout (`with_order`, the
    order's id), that order ships the first box; started later, the first box is charged now.
    Either way the next charge is a month on (the caller bills renewals)."""
    person = tl.person
    plan = (
        "office"
        if person.b2b
        else tl.rng.choice(("explorer", "enthusiast", "enthusiast", "barista"))
    )
    props: dict[str, Any] = {"plan": plan, "price": PLANS[plan]}
    if with_order is not None:
        props["order_id"] = with_order
    tl.emit(ts, "subscription_started", "web", tl.web(), traits={"plan": plan}, properties=props)
    if with_order is None:
        renew(tl, ts + 60, plan)
    return plan


def renew(tl: Timeline, ts: float, plan: str) -> None:
    """A box of a subscription: charged (a purchase marked recurring) and shipped."""
    order_id = tl.serial("O")
    props = {"order_id": order_id, "items": 1, "plan": plan, "recurring": True}
    tl.emit(
        ts,
        "purchase",
        "web",
        tl.by_account(),
        revenue=PLANS[plan],
        currency=tl.person.market.currency,
        properties=props,
    )
    confirm(tl, ts, order_id)


def refund(tl: Timeline, ts: float, basket: Basket, reason: str) -> None:
    amount = round(basket.value * tl.rng.choice((1.0, 1.0, 0.5, 0.2)), 2)
    props = {"order_id": basket.order_id, "reason": reason}
    tl.emit(
        ts,
        "refund",
        "web",
        tl.by_account(),
        revenue=-amount,
        currency=tl.person.market.currency,
        properties=props,
    )
