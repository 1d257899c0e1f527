"""A contact center for the router's tests: a configuration applied to a fresh Touchpoint, and
the router driven with an explicit clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from touchpoint.contact_center import router
from touchpoint.contact_center.config import CenterConfig, parse_toml
from touchpoint.domain.routing import CustomerFacts
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config, current_config
from touchpoint.store import contact_center as store

T = TypeVar("T")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

CONFIG = """
[center]
lease_s = 10

[queues.sales]
channels = ["phone", "chat"]
priority = 5
wrapup_s = 30

[queues.support]
channels = ["phone", "chat", "email"]
wrapup_s = 0

[agents.ana]
team = "sales"
queues = ["sales", "support"]
capacity = { phone = 1, chat = 3, email = 5 }

[agents.bo]
team = "retention"
queues = ["sales", "support"]
capacity = { phone = 1, chat = 3 }

[[rules]]
name = "retention team for at-risk customers"
stages = ["at_risk", "churned"]
team = "retention"
priority = 10
"""


class Center:
    def __init__(self, tp: Touchpoint, text: str = CONFIG) -> None:
        self.tp = tp
        apply_config(tp, text=text, actor="test")
        self.now = T0
        self.refs = 0

    def at(self, seconds: float) -> Center:
        self.now = T0 + timedelta(seconds=seconds)
        return self

    def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with store.center_transaction(self.tp.engine) as conn:
            _version, config = current_config(conn)
            return work(conn, config, self.now, *args, **kwargs)

    def offer(
        self, queue: str = "support", channel: str = "phone", stage: str | None = None, **kw: Any
    ) -> router.Offered:
        self.refs += 1
        return self.run(
            router.offer,
            queue=queue,
            channel=channel,
            identity={"phone": f"+1415555{self.refs:04d}"},
            customer_id=None,
            facts=CustomerFacts(stage=stage),
            **kw,
        )

    def ready(self, *agents: str) -> None:
        for name in agents:
            self.run(router.set_agent_state, name, "login")
            self.run(router.set_agent_state, name, "ready")

    def state(self, contact_id: str) -> router.Offered:
        def look(conn: Any, config: CenterConfig, now: datetime) -> router.Offered:
            router.settle(conn, config, now)
            router.dispatch(conn, config, now)
            return router.describe(conn, config, contact_id, now)

        return self.run(look)


def parsed(text: str = CONFIG) -> CenterConfig:
    return parse_toml(text)
