"""Which reports exist, which module defines each and which breakdowns each takes: the one list,
in a module that imports nothing heavy, so a face can refuse a mistyped report name, `--by` or
`--interval` before it loads Ibis, DuckDB and Arrow (a user mistake is answered in a blink).

`reports.register` takes a report's breakdowns from here, and `reports.load_report(name)` imports
only the module named here, so a report run loads one report module, not all of them."""

from __future__ import annotations

from dataclasses import dataclass

from touchpoint.errors import ValidationError

CUSTOMER_BREAKDOWNS = ("channel", "campaign", "creative", "segment", "stage")
"""Breakdowns of customers (first touch, first campaign, segment trait, current stage)."""

CONTACT_BREAKDOWNS = ("queue", "team", "agent", "channel", "stage")
"""Breakdowns of contact-center contacts (the contact's own queue, agent, the agent's team, its
channel, the customer's stage at the contact's time)."""

BREAKDOWNS = (*CUSTOMER_BREAKDOWNS, "queue", "team", "agent")
"""What `--by` may name; each report says which of these it supports (`Entry.by`)."""

INTERVALS = ("day", "week", "month")
"""The buckets of period-by-period reports (`--interval`)."""

ENGINES = ("duckdb", "sqlite", "postgres")
"""Where a report may run: the columnar copy, or the system of record itself."""


@dataclass(frozen=True)
class Entry:
    module: str  # touchpoint.analytics.<module> registers the report when imported
    by: tuple[str, ...] = ()  # the breakdowns it supports


_ALL_BUT_STAGE = ("channel", "campaign", "creative", "segment")

CATALOG: dict[str, Entry] = {
    "funnel": Entry("funnel", _ALL_BUT_STAGE),
    "transitions": Entry("transitions", _ALL_BUT_STAGE),
    "time-in-stage": Entry("time_in_stage", _ALL_BUT_STAGE),
    "cohorts": Entry("cohorts", CUSTOMER_BREAKDOWNS),
    "composition": Entry("composition"),
    "churn": Entry("churn", CUSTOMER_BREAKDOWNS),
    "at-risk": Entry("churn"),
    "kpis": Entry("kpis"),
    "service-levels": Entry("service_levels"),
    "agents": Entry("agents"),
    "contact-center": Entry("contact_center", CONTACT_BREAKDOWNS),
    "clv": Entry("clv", CUSTOMER_BREAKDOWNS),
    "rfm": Entry("rfm"),
    "cac": Entry("spend", ("campaign", "channel")),
    "attribution": Entry("attribution", ("campaign", "channel", "creative")),
}


def entry(name: str) -> Entry:
    """The catalog entry of report `name`; an unknown name is refused with the list."""
    if name not in CATALOG:
        raise ValidationError(f"unknown report {name!r}; choose from: {', '.join(sorted(CATALOG))}")
    return CATALOG[name]


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise ValidationError(f"unknown interval {interval!r}; use one of {', '.join(INTERVALS)}")
    return interval


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValidationError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    return engine


def check_request(name: str, *, by: str | None, interval: str, engine: str = "duckdb") -> Entry:
    """Refuse what the catalog alone can tell is wrong: the report name, its breakdown, the
    interval, the engine. Dates are checked by the faces' moment parser."""
    found = entry(name)
    check_engine(engine)
    if by is not None and by not in found.by:
        allowed = ", ".join(found.by) or "no breakdown"
        raise ValidationError(
            f"report {name!r} cannot be broken down by {by!r} (allowed: {allowed})"
        )
    check_interval(interval)
    return found
