"""Playbooks as values: what a playbook file says (a trigger, re-entry, steps), and the pure rules a
run follows — when a wait ends in the customer's time zone, whether a condition holds, whether a
customer may enter again, and whether a marketing message may go (consent, right before a send).

A file is read into a plain mapping by `automation/playbooks.py`; `parse_playbook` checks it as a
whole and raises one `PlaybookError` listing every problem, each with the path of the value it is
about (`steps[2].wait`), which the loader turns into a line number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from touchpoint.domain.consent import DEFAULT_PURPOSE, GRANTED, WITHDRAWN, ConsentChange
from touchpoint.domain.moments import duration_text, parse_span
from touchpoint.domain.vocabulary import CHANNELS, INTERACTION_TYPES

NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
ONCE: Final = "once"  # once ever per customer
PER_OCCURRENCE: Final = "once_per_occurrence"  # once per trigger occurrence
_EVERY = re.compile(r"^every (\d{1,4})d$")  # at most every N days
OPT_IN: Final = "opt_in"  # marketing goes only to customers whose consent is granted
OPT_OUT: Final = "opt_out"  # marketing goes unless consent was withdrawn
CONSENT_RULES: Final = (OPT_IN, OPT_OUT)
ACTION_KINDS: Final = ("send_email", "webhook")  # later: callback, ticket, survey, loyalty
STEP_KINDS: Final = ("wait", "wait_until", "if", *ACTION_KINDS)
TRIGGER_KINDS: Final = ("interaction", "stage_entered")
TIME_ZONE_TRAITS: Final = ("timezone", "time_zone", "tz")
# What a suppressed message records as its reason.
NO_CONSENT: Final = "no_consent"
UNSUBSCRIBED: Final = "unsubscribed"
NO_ADDRESS: Final = "no_address"
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PlaybookError(ValueError):
    """A playbook refused as a whole: `problems` are (path, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.problems))


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # "interaction" or "stage_entered"
    subject: str  # the interaction type, or the stage entered
    channel: str | None = None
    where: Mapping[str, Any] = field(default_factory=dict)  # property -> the value it must have


@dataclass(frozen=True, slots=True)
class Conditions:
    """All must hold: a stage among `stages`, traits equal, consent for a channel, no
    interaction of `none_since_trigger` after the trigger, at most `at_most` of a type so far."""

    stages: tuple[str, ...] = ()
    traits: Mapping[str, Any] = field(default_factory=dict)
    consent: str | None = None  # a channel whose marketing consent must be in force
    none_since_trigger: tuple[str, ...] = ()
    at_most: Mapping[str, int] = field(default_factory=dict)  # type -> most interactions

    def describe(self) -> str:
        parts = [f"stage in {', '.join(self.stages)}"] if self.stages else []
        parts += [f"{name} = {value!r}" for name, value in self.traits.items()]
        parts += [f"{self.consent} marketing consent"] if self.consent else []
        parts += [f"no {name} since the trigger" for name in self.none_since_trigger]
        parts += [f"at most {n} {name} up to the trigger" for name, n in self.at_most.items()]
        return " and ".join(parts) or "always"


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # one of STEP_KINDS
    wait: timedelta | None = None
    until: time | None = None  # wait_until: a local time of day
    conditions: Conditions | None = None
    action: Mapping[str, Any] = field(default_factory=dict)  # an action's settings

    def describe(self) -> str:
        if self.kind == "wait" and self.wait is not None:
            return f"wait {duration_text(self.wait)}"
        if self.kind == "wait_until" and self.until is not None:
            return f"wait until {self.until.strftime('%H:%M')} in the customer's time zone"
        if self.kind == "if" and self.conditions is not None:
            return f"if {self.conditions.describe()} (else stop)"
        return f"{self.kind} {self.action.get('template') or self.action.get('url') or ''}".strip()


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    title: str
    trigger: Trigger
    steps: tuple[Step, ...]
    reentry: str = PER_OCCURRENCE  # ONCE, PER_OCCURRENCE or "every Nd"
    consent: str = OPT_IN

    @property
    def reentry_days(self) -> int | None:
        found = _EVERY.match(self.reentry)
        return int(found[1]) if found else None


def parse_playbook(raw: Mapping[str, Any], *, stages: Sequence[str] = ()) -> Playbook:
    """A playbook from a file's mapping; every problem at once in a PlaybookError."""
    problems: list[tuple[str, str]] = []
    known = {"name", "title", "trigger", "steps", "reentry", "consent"}
    for key in raw:
        if key not in known:
            problems.append((key, f"unknown key; expected one of {', '.join(sorted(known))}"))
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(("name", "must be lower-case letters, digits and _ (a letter first)"))
    title = raw.get("title", name)
    reentry = raw.get("reentry", PER_OCCURRENCE)
    if not isinstance(reentry, str) or not (
        reentry in (ONCE, PER_OCCURRENCE) or _EVERY.match(reentry)
    ):
        problems.append(
            ("reentry", f"must be {ONCE!r}, {PER_OCCURRENCE!r} or 'every N d' ('every 7d')")
        )
    consent = raw.get("consent", OPT_IN)
    if consent not in CONSENT_RULES:
        problems.append(("consent", f"must be one of {', '.join(CONSENT_RULES)}"))
    trigger = _trigger(raw.get("trigger"), stages, problems)
    steps = _steps(raw.get("steps"), stages, problems)
    if problems:
        raise PlaybookError(problems)
    assert trigger is not None
    return Playbook(str(name), str(title), trigger, tuple(steps), str(reentry), str(consent))


def _trigger(raw: Any, stages: Sequence[str], problems: list[tuple[str, str]]) -> Trigger | None:
    if not isinstance(raw, Mapping):
        problems.append(("trigger", "missing: a [trigger] table with interaction or stage_entered"))
        return None
    kinds = [k for k in TRIGGER_KINDS if k in raw]
    if len(kinds) != 1:
        problems.append(("trigger", f"needs exactly one of {', '.join(TRIGGER_KINDS)}"))
        return None
    kind = kinds[0]
    for key in raw:
        if key not in (kind, "channel", "where"):
            problems.append((f"trigger.{key}", "unknown key; expected channel or where"))
    subject = raw[kind]
    if kind == "interaction" and subject not in INTERACTION_TYPES:
        problems.append(("trigger.interaction", f"unknown interaction type {subject!r}"))
    if kind == "stage_entered" and (
        not isinstance(subject, str) or (stages and subject not in stages)
    ):
        problems.append(("trigger.stage_entered", f"unknown stage {subject!r}"))
    channel = raw.get("channel")
    if channel is not None and channel not in CHANNELS:
        problems.append(("trigger.channel", f"unknown channel {channel!r}"))
    where = raw.get("where", {})
    if not isinstance(where, Mapping):
        problems.append(("trigger.where", "must be a table of property = value"))
        where = {}
    return Trigger(kind, str(subject), channel, dict(where))


def _steps(raw: Any, stages: Sequence[str], problems: list[tuple[str, str]]) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        problems.append(("steps", "missing: one [[steps]] table or more"))
        return []
    steps = []
    for i, item in enumerate(raw):
        where = f"steps[{i}]"
        if not isinstance(item, Mapping):
            problems.append((where, "must be a table"))
            continue
        kinds = [k for k in item if k in STEP_KINDS]
        if len(kinds) != 1 or len(item) != 1:
            problems.append((where, f"needs exactly one of {', '.join(STEP_KINDS)}"))
            continue
        step = _step(kinds[0], item[kinds[0]], f"{where}.{kinds[0]}", stages, problems)
        if step is not None:
            steps.append(step)
    return steps


def _step(
    kind: str, value: Any, where: str, stages: Sequence[str], problems: list[tuple[str, str]]
) -> Step | None:
    if kind == "wait":
        span = parse_span(value) if isinstance(value, str) else None
        if span is None or span <= timedelta(0):
            problems.append((where, "must be a span such as 30m, 1h, 2d"))
            return None
        return Step(kind, wait=span)
    if kind == "wait_until":
        found = _LOCAL_TIME.match(value) if isinstance(value, str) else None
        if found is None:
            problems.append((where, "must be a local time of day HH:MM (09:00)"))
            return None
        return Step(kind, until=time(int(found[1]), int(found[2])))
    if kind == "if":
        return Step(kind, conditions=_conditions(value, where, stages, problems))
    return Step(kind, action=_action(kind, value, where, problems))


def _conditions(
    raw: Any, where: str, stages: Sequence[str], problems: list[tuple[str, str]]
) -> Conditions:
    if not isinstance(raw, Mapping) or not raw:
        problems.append((where, "must be a table of conditions"))
        return Conditions()
    known = ("stage", "traits", "consent", "none_since_trigger", "at_most")
    for key in raw:
        if key not in known:
            problems.append((f"{where}.{key}", f"unknown condition; expected {', '.join(known)}"))
    stage = _names(raw.get("stage", []))
    for name in stage:
        if stages and name not in stages:
            problems.append((f"{where}.stage", f"unknown stage {name!r}"))
    none_since = _names(raw.get("none_since_trigger", []))
    at_most = raw.get("at_most", {})
    for type_name in (*none_since, *(at_most if isinstance(at_most, Mapping) else ())):
        if type_name not in INTERACTION_TYPES:
            problems.append((where, f"unknown interaction type {type_name!r}"))
    if not isinstance(at_most, Mapping) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in at_most.values()
    ):
        problems.append((f"{where}.at_most", "must be a table of type = a whole number"))
        at_most = {}
    traits = raw.get("traits", {})
    if not isinstance(traits, Mapping):
        problems.append((f"{where}.traits", "must be a table of trait = value"))
        traits = {}
    consent = raw.get("consent")
    if consent is not None and consent not in CHANNELS:
        problems.append((f"{where}.consent", f"unknown channel {consent!r}"))
    return Conditions(tuple(stage), dict(traits), consent, tuple(none_since), dict(at_most))


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


_ACTION_KEYS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # (required keys, optional keys)
    "send_email": (("template", "subject"), ("html", "transactional", "purpose")),
    "webhook": (("url",), ("secret_env",)),
}


def _action(kind: str, raw: Any, where: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.append((where, "must be a table"))
        return {}
    required, optional = _ACTION_KEYS[kind]
    for key in required:
        if not isinstance(raw.get(key), str) or not raw[key]:
            problems.append((f"{where}.{key}", "missing (text)"))
    for key in raw:
        if key not in required and key not in optional:
            problems.append(
                (f"{where}.{key}", f"unknown key; expected {', '.join(required + optional)}")
            )
    if (
        kind == "webhook"
        and isinstance(raw.get("url"), str)
        and not raw["url"].startswith(("https://", "http://"))
    ):
        problems.append((f"{where}.url", "must be an http(s) URL"))
    if "transactional" in raw and not isinstance(raw["transactional"], bool):
        problems.append((f"{where}.transactional", "must be true or false"))
    return dict(raw)


# --- the rules a run follows ---------------------------------------------------------------------


def time_zone(traits: Mapping[str, Any]) -> ZoneInfo:
    """The customer's time zone from their traits (`timezone`…), else UTC."""
    for name in TIME_ZONE_TRAITS:
        value = traits.get(name)
        if isinstance(value, str) and value:
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def wait_ends(step: Step, start: datetime, zone: ZoneInfo) -> datetime:
    """When a wait that begins at `start` ends: after its span, or at the next `until` local
    time of day in `zone` (strictly after `start`; a time skipped by a DST change is the first
    moment after it that exists, as zoneinfo's fold=0 reading gives)."""
    if step.wait is not None:
        return start + step.wait
    if step.until is None:
        return start
    local = start.astimezone(zone)
    candidate = datetime.combine(local.date(), step.until, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), step.until, tzinfo=zone)
    return candidate.astimezone(start.tzinfo)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition reads about one customer at one moment."""

    stage: str | None
    traits: Mapping[str, Any]
    consent: Mapping[tuple[str, str], ConsentChange]
    types_since_trigger: frozenset[str]  # interaction types after the trigger, up to now
    type_counts: Mapping[str, int]  # interactions of each type up to now


def unmet(conditions: Conditions, facts: Facts, rule: str = OPT_IN) -> str | None:
    """Why the conditions do not hold (the first one that fails), or None when all hold."""
    if conditions.stages and facts.stage not in conditions.stages:
        return f"stage is {facts.stage}, not {' or '.join(conditions.stages)}"
    for name, value in conditions.traits.items():
        if facts.traits.get(name) != value:
            return f"trait {name} is {facts.traits.get(name)!r}, not {value!r}"
    if conditions.consent is not None:
        refused = consent_refusal(facts.consent, conditions.consent, DEFAULT_PURPOSE, rule)
        if refused:
            return f"{conditions.consent} marketing: {refused}"
    for type_name in conditions.none_since_trigger:
        if type_name in facts.types_since_trigger:
            return f"a {type_name} came after the trigger"
    for type_name, most in conditions.at_most.items():
        if facts.type_counts.get(type_name, 0) > most:
            return (
                f"{facts.type_counts.get(type_name, 0)} {type_name} interactions, more than {most}"
            )
    return None


def consent_refusal(
    consent: Mapping[tuple[str, str], ConsentChange], channel: str, purpose: str, rule: str
) -> str | None:
    """Why a marketing message on `channel` for `purpose` may not go (None: it may): consent
    withdrawn (an unsubscribe) always stops it; with `opt_in`, so does no grant in force."""
    held = consent.get((channel, purpose))
    if held is not None and held.status == WITHDRAWN:
        return UNSUBSCRIBED
    if rule == OPT_IN and (held is None or held.status != GRANTED):
        return NO_CONSENT
    return None


def may_enter(playbook: Playbook, earlier_starts: Sequence[datetime], at: datetime) -> str | None:
    """Why a customer may not enter the playbook again at `at` (None: they may); the
    once-per-occurrence rule is kept by the run's key, not here."""
    if playbook.reentry == ONCE and earlier_starts:
        return "entered once already (reentry once)"
    days = playbook.reentry_days
    if days is not None and any(at - start < timedelta(days=days) for start in earlier_starts):
        return f"entered less than {days} days ago"
    return None


def occurrence(playbook: Playbook, trigger_id: str) -> str:
    """The occurrence part of a run's idempotency key: one per customer for once-ever playbooks."""
    return ONCE if playbook.reentry == ONCE else trigger_id


def matches(trigger: Trigger, row: Mapping[str, Any]) -> bool:
    """Whether a log interaction (type, channel, properties) fires an interaction trigger."""
    if trigger.kind != "interaction" or row["type"] != trigger.subject:
        return False
    if trigger.channel is not None and row["channel"] != trigger.channel:
        return False
    properties = row.get("properties") or {}
    return all(properties.get(name) == value for name, value in trigger.where.items())
