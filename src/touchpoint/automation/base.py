"""What every part of running playbooks shares: the `Automation` it runs with (store, settings,
playbooks, which are active, the policy marketing obeys, the ingestion path), a pass's report, and
how runs are named."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from touchpoint.automation.playbooks import PlaybookFile
from touchpoint.domain.playbook_policy import DEFAULT_POLICY, Policy
from touchpoint.domain.playbooks import Playbook
from touchpoint.settings import Settings

BATCH = 1_000
STALE_TRIGGER = timedelta(days=1)  # an older trigger starts no run (docs/decisions.md)
LogWriter = Callable[[list[tuple[int, dict[str, Any]]]], Any]  # Ingestor.ingest
# An effect on another part of Touchpoint (open a ticket, queue a callback), given by services:
# (the customer's identity, the action's settings, an idempotency reference, the playbook) -> a
# record of what it did. Sent again with the same reference, it does nothing more.
Effect = Callable[[dict[str, Any], dict[str, Any], str, str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Automation:
    """What running playbooks needs: the store, the settings, the playbooks (by name) with
    which are active, the ingestion path (to write sends and suppressions to the log), and the
    quiet hours, caps and send-by window marketing obeys."""

    engine: Engine
    settings: Settings
    playbooks: Mapping[str, PlaybookFile]
    active: frozenset[str]
    write_log: LogWriter
    policy: Policy = DEFAULT_POLICY
    effects: Mapping[str, Effect] = field(default_factory=dict)  # open_ticket, callback

    def chosen(self) -> list[Playbook]:
        """The active playbooks, by name."""
        return [self.playbooks[n].playbook for n in sorted(self.active) if n in self.playbooks]


@dataclass(slots=True)
class RunReport:
    started: int = 0  # runs started from triggers
    executed: dict[str, int] = field(default_factory=dict)  # steps by outcome


def run_key(playbook: str, customer_id: str, occurrence: str) -> str:
    return f"{playbook}|{customer_id}|{occurrence}"


def digest(text: str, size: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]
