"""The report registry: every analytics report is a `ReportSpec` registered here by name.

A report is a function from `Sources` (Ibis tables on one backend, merges already applied) and a
`ReportRequest` (period, breakdown, the moment called "now") to a `ReportResult` (an Arrow table plus
notes), and a function drawing that result as one Plotly figure. The CLI, the API and the plots only
ever go through `REPORTS`, so a module that calls `register(...)` at import time is a new report.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from touchpoint.analytics.catalog import BREAKDOWNS, CATALOG, entry
from touchpoint.domain.contact_center import CenterTerms

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import plotly.graph_objects as go
    from ibis.backends import BaseBackend


__all__ = [
    "BREAKDOWNS",
    "REPORTS",
    "CustomerFilter",
    "ReportRequest",
    "ReportResult",
    "ReportSpec",
    "Sources",
]


@dataclass(frozen=True)
class CustomerFilter:
    """Only some customers: those whose first touch's reach channel and first campaign touched
    (the `channel` and `campaign` breakdowns' keys) are the ones named, and who are among
    `members` (a saved segment's customer ids) when given. Reports that say so honour it."""

    channel: str | None = None
    campaign: str | None = None
    members: frozenset[str] | None = None


@dataclass(frozen=True)
class ReportRequest:
    """What the user asked for: a half-open period [start, end) (None = unbounded), a breakdown,
    `at`, the moment treated as "now" (the end of open periods, "currently at risk"), and the
    bucket size of reports that go period by period (day, week or month), and the customers
    it is about (`only`, None: all)."""

    start: datetime | None
    end: datetime | None
    by: str | None
    at: datetime
    interval: str = "month"
    only: CustomerFilter | None = None


@dataclass
class Sources:
    """The tables a report reads, all on one Ibis backend.

    interactions: the log's columns (seq, id, customer_id, occurred_at, channel, direction, type,
        source, medium, campaign, keyword, creative, agent, queue, duration_s, outcome, revenue,
        currency, properties as JSON text) plus survey answers pulled out of properties: csat,
        nps (numbers), heard_about, ticket_id, contact_id (text) and
        first_contact_resolution (1.0/0.0); customer_id already mapped to the surviving customer.
        Timestamps are naive UTC on every engine.
    transitions: seq, customer_id, from_stage, to_stage, at, interaction_id, reason.
    customers: id, created_at, segment (the `segment` trait, else 'unknown'), country; only
        surviving (not merged-away) customers.
    spend: campaign spend (date, channel, source, campaign, amount, currency) when imported.
    model: the lifecycle stage model (stage order).
    monthly_activity: customer_id, p (month index, as `common.period_index`), first_at, prev_p,
        next_p, next_first_at — one row per customer and month with an inbound interaction, its
        first such moment (so `first_at < now` tells whether the month counts as of "now"), and
        the customer's previous and next such month (and the next one's first moment). A table
        kept up to date in the columnar copy; the same expression over the log elsewhere.
    center: the contact-center configuration's terms (queues' service-level thresholds, agents'
        teams), read from the system of record when called; empty terms without one.
    customer_keys: where customer_id (and customers.id) is an integer key rather than the system
        of record's id (the columnar copy), the mapping `key` -> `id`; None elsewhere. Reports
        compare and join customer_id freely and turn it into ids with `common.public_ids` only
        when they list customers.
    """

    backend: BaseBackend
    interactions: ir.Table
    transitions: ir.Table
    customers: ir.Table
    spend: ir.Table | None
    model: Any  # touchpoint.lifecycle.model.StageModel
    monthly_activity: ir.Table
    customer_keys: ir.Table | None = None
    extra: dict[str, ir.Table] = field(default_factory=dict)
    center: Callable[[], CenterTerms] = CenterTerms
    # (start, end) -> analytics.contact_center.CenterHistory: agents' time and tickets' clocks
    # in the period, read from the system of record when called; None: nothing known.
    center_history: Callable[[datetime | None, datetime], Any] | None = None


@dataclass
class ReportResult:
    name: str
    title: str
    table: pa.Table
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    run: Callable[[Sources, ReportRequest], ReportResult]
    plot: Callable[[ReportResult], go.Figure]

    @property
    def allowed_by(self) -> tuple[str, ...]:
        """The breakdowns it supports, as the catalog lists them."""
        return CATALOG[self.name].by


REPORTS: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    """Add a report to the registry (import-time side effect of each report module); its name
    must be in the catalog, with this module as its home."""
    module = spec.run.__module__.rsplit(".", 1)[-1]
    if spec.name not in CATALOG or CATALOG[spec.name].module != module:
        raise ValueError(f"report {spec.name!r} (in {module}) is not in analytics.catalog")
    REPORTS[spec.name] = spec
    return spec


def load_report(name: str) -> ReportSpec:
    """The report called `name`, importing only its module; an unknown name is refused."""
    importlib.import_module(f"touchpoint.analytics.{entry(name).module}")
    return REPORTS[name]


def load_reports() -> dict[str, ReportSpec]:
    """Import every report module (each registers itself) and return the registry."""
    for name in CATALOG:
        load_report(name)
    return REPORTS
