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

from touchpoint.domain import playbook_schedules as schedules
from touchpoint.domain import surveys
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
ACTION_KINDS: Final = (
    "send_email",
    "webhook",
    "set_trait",
    "add_tag",
    "open_ticket",
    "callback",
    "send_survey",
    "award_points",
    "set_tier",
)
# A send_survey step's `kind` -> the scores its shipped one-question survey offers.
SURVEY_SCALES: Final[Mapping[str, tuple[int, ...]]] = {
    surveys.CSAT: tuple(range(surveys.KPI_CSAT_SCALE[0], surveys.KPI_CSAT_SCALE[1] + 1)),
    surveys.NPS: tuple(range(surveys.NPS_SCALE[0], surveys.NPS_SCALE[1] + 1)),
}
STEP_KINDS: Final = ("wait", "wait_until", "wait_for", "if", "stop", *ACTION_KINDS)
# A domain event's trigger kind -> the stream (projections/events.py) that carries it.
EVENT_TRIGGERS: Final[Mapping[str, str]] = {
    "stage_entered": "lifecycle",
    "stage_left": "lifecycle",
    "segment_entered": "segments",
    "segment_left": "segments",
    "score_rose_above": "scores",
    "score_fell_below": "scores",
    "ticket_breached": "tickets",
    "ticket_solved": "tickets",
}
TRIGGER_KINDS: Final = ("interaction", *EVENT_TRIGGERS, *schedules.SCHEDULE_KINDS)
ANY: Final = "any"  # ticket_breached = "any": whichever clock
_TRIGGER_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "interaction": ("channel", "where"),
    schedules.ANNIVERSARY: ("at", "feb29"),
    schedules.DAYS_AFTER_FIRST: ("days", "at"),
    schedules.INACTIVE_DAYS: ("at",),
    schedules.MONTHLY: ("at",),
}
_SCORE_SUBJECT = re.compile(r"^([a-z][a-z0-9_]*):(-?\d+(?:\.\d+)?)$")
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
    """What starts a run: an interaction (type, channel, properties), a domain event (its kind
    and subject: the stage, the segment, `model:threshold`, the SLA clock), or a schedule (its
    kind and subject: the date trait, the interaction type, the days, the day of the month)."""

    kind: str  # one of TRIGGER_KINDS
    subject: str
    channel: str | None = None
    where: Mapping[str, Any] = field(default_factory=dict)  # property -> the value it must have
    days: int | None = None  # days_after_first, inactive_days
    at: time | None = None  # a schedule's local time of day
    feb29: str = schedules.FEB28

    @property
    def stream(self) -> str | None:
        """The domain-event stream this trigger reads (None: the log, or a schedule)."""
        return EVENT_TRIGGERS.get(self.kind)

    @property
    def scheduled(self) -> bool:
        return self.kind in schedules.SCHEDULE_KINDS

    def describe(self) -> str:
        at = f" at {self.at.strftime('%H:%M')} local time" if self.at else ""
        if self.kind == schedules.ANNIVERSARY:
            return f"every year on the {self.subject} date{at} (29 Feb: {self.feb29})"
        if self.kind == schedules.DAYS_AFTER_FIRST:
            return f"{self.days} days after the first {self.subject}{at}"
        if self.kind == schedules.INACTIVE_DAYS:
            return f"no inbound activity for {self.days} days{at}"
        if self.kind == schedules.MONTHLY:
            return f"every month on day {self.subject}{at}"
        text = f"{self.kind.replace('_', ' ')} {self.subject}"
        if self.channel:
            text += f" on {self.channel}"
        if self.where:
            text += " where " + ", ".join(f"{k} = {v!r}" for k, v in self.where.items())
        return text


@dataclass(frozen=True, slots=True)
class Conditions:
    """All must hold: a stage among `stages`, traits equal, consent for a channel, no
    interaction of `none_since_trigger` after the trigger, at most `at_most` of a type so far."""

    stages: tuple[str, ...] = ()
    traits: Mapping[str, Any] = field(default_factory=dict)
    consent: str | None = None  # a channel whose marketing consent must be in force
    none_since_trigger: tuple[str, ...] = ()
    at_most: Mapping[str, int] = field(default_factory=dict)  # type -> most interactions
    came: bool | None = None  # whether the event the last wait_for waited for came

    def describe(self) -> str:
        parts = [f"stage in {', '.join(self.stages)}"] if self.stages else []
        if self.came is not None:
            parts.append(
                "the awaited event came" if self.came else "the awaited event did not come"
            )
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
    otherwise: int | None = None  # if: the step to go on at when unmet (None: stop the run)

    def describe(self) -> str:
        if self.kind == "wait" and self.wait is not None:
            return f"wait {duration_text(self.wait)}"
        if self.kind == "wait_until" and self.until is not None:
            return f"wait until {self.until.strftime('%H:%M')} in the customer's time zone"
        if self.kind == "wait_for" and self.wait is not None:
            return f"wait up to {duration_text(self.wait)} for a {self.action.get('type')}"
        if self.kind == "if" and self.conditions is not None:
            otherwise = "stop" if self.otherwise is None else f"go to step {self.otherwise}"
            return f"if {self.conditions.describe()} (else {otherwise})"
        if self.kind == "stop":
            return f"stop: {self.action.get('why')}"
        if self.kind == "set_trait":
            return f"set trait {self.action.get('name')} = {self.action.get('value')!r}"
        if self.kind == "add_tag":
            return f"add tag {self.action.get('tag')}"
        if self.kind == "open_ticket":
            return f"open a ticket in {self.action.get('queue')}: {self.action.get('subject')}"
        if self.kind == "callback":
            return f"ask {self.action.get('queue')} to call the customer back"
        if self.kind == "award_points":
            return f"award {self.action.get('points')} points: {self.action.get('reason')}"
        if self.kind == "set_tier":
            return f"set the loyalty tier to {self.action.get('tier')}"
        if self.kind == "send_survey":
            if self.action.get("survey"):
                return f"email the survey {self.action['survey']}"
            return f"email a {str(self.action.get('kind')).upper()} survey"
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
        problems.append(("trigger", "missing: a [trigger] table (interaction, stage_entered…)"))
        return None
    kinds = [k for k in TRIGGER_KINDS if k in raw]
    if len(kinds) != 1:
        problems.append(("trigger", f"needs exactly one of {', '.join(TRIGGER_KINDS)}"))
        return None
    kind = kinds[0]
    allowed = _TRIGGER_KEYS.get(kind, ())
    for key in raw:
        if key != kind and key not in allowed:
            expected = f"expected {', '.join(allowed)}" if allowed else f"{kind} takes no other"
            problems.append((f"trigger.{key}", f"unknown key; {expected}"))
    if kind == "interaction":
        return _interaction_trigger(raw, problems)
    if kind in EVENT_TRIGGERS:
        return _event_trigger(kind, raw[kind], stages, problems)
    return _schedule_trigger(kind, raw, problems)


def _interaction_trigger(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> Trigger:
    subject = raw["interaction"]
    if subject not in INTERACTION_TYPES:
        problems.append(("trigger.interaction", f"unknown interaction type {subject!r}"))
    channel = raw.get("channel")
    if channel is not None and channel not in CHANNELS:
        problems.append(("trigger.channel", f"unknown channel {channel!r}"))
    where = raw.get("where", {})
    if not isinstance(where, Mapping):
        problems.append(("trigger.where", "must be a table of property = value"))
        where = {}
    return Trigger("interaction", str(subject), channel, dict(where))


def _event_trigger(
    kind: str, subject: Any, stages: Sequence[str], problems: list[tuple[str, str]]
) -> Trigger:
    where = f"trigger.{kind}"
    if kind == "ticket_solved" and subject is True:
        subject = ANY
    if not isinstance(subject, str) or not subject:
        problems.append((where, "must be text (a name)"))
        return Trigger(kind, "")
    if kind.startswith("stage_") and stages and subject not in stages:
        problems.append((where, f"unknown stage {subject!r}"))
    if kind.startswith("segment_") and not NAME.match(subject):
        problems.append((where, f"not a segment name: {subject!r}"))
    if kind.startswith("score_"):
        found = _SCORE_SUBJECT.match(subject)
        if found is None:
            problems.append((where, "must be model:threshold, such as 'lead:50'"))
        else:
            subject = f"{found[1]}:{float(found[2]):g}"  # as the scores' stream names it
    if kind == "ticket_solved" and subject != ANY:
        problems.append((where, "must be true (any ticket)"))
    return Trigger(kind, subject)


def _schedule_trigger(
    kind: str, raw: Mapping[str, Any], problems: list[tuple[str, str]]
) -> Trigger:
    where = f"trigger.{kind}"
    value = raw[kind]
    at = _local_time(raw["at"], "trigger.at", problems) if "at" in raw else None
    if kind in (schedules.ANNIVERSARY, schedules.MONTHLY) and at is None:
        at = schedules.DEFAULT_AT
    feb29 = raw.get("feb29", schedules.FEB28)
    if feb29 not in schedules.FEB29_RULES:
        problems.append(("trigger.feb29", f"must be one of {', '.join(schedules.FEB29_RULES)}"))
    days: int | None = None
    subject = str(value)
    if kind == schedules.ANNIVERSARY and (not isinstance(value, str) or not value):
        problems.append((where, "must name a date trait, such as 'birthday'"))
    if kind == schedules.DAYS_AFTER_FIRST:
        if value not in INTERACTION_TYPES:
            problems.append((where, f"unknown interaction type {value!r}"))
        days = _whole(raw.get("days"), "trigger.days", problems, low=0)
    if kind == schedules.INACTIVE_DAYS:
        days = _whole(value, where, problems, low=1)
        subject = "inbound"
    if kind == schedules.MONTHLY and _whole(value, where, problems, low=1, high=31) is None:
        subject = "1"
    return Trigger(kind, subject, days=days, at=at, feb29=str(feb29))


def _whole(
    value: Any, where: str, problems: list[tuple[str, str]], *, low: int, high: int = 36_500
) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.append((where, f"must be a whole number from {low} to {high}"))
    return None


def _local_time(value: Any, where: str, problems: list[tuple[str, str]]) -> time | None:
    found = _LOCAL_TIME.match(value) if isinstance(value, str) else None
    if found is None:
        problems.append((where, "must be a local time of day HH:MM (09:00)"))
        return None
    return time(int(found[1]), int(found[2]))


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
        place = (i, len(raw))
        step = _step(kinds[0], item[kinds[0]], f"{where}.{kinds[0]}", stages, problems, place)
        if step is not None:
            steps.append(step)
    return steps


def _step(
    kind: str,
    value: Any,
    where: str,
    stages: Sequence[str],
    problems: list[tuple[str, str]],
    place: tuple[int, int],
) -> Step | None:
    if kind == "wait":
        span = parse_span(value) if isinstance(value, str) else None
        if span is None or span <= timedelta(0):
            problems.append((where, "must be a span such as 30m, 1h, 2d"))
            return None
        return Step(kind, wait=span)
    if kind == "wait_until":
        until = _local_time(value, where, problems)
        return Step(kind, until=until) if until is not None else None
    if kind == "wait_for":
        return _wait_for(value, where, problems)
    if kind == "stop":
        if not isinstance(value, str) or not value:
            problems.append((where, "must say why the run stops (text)"))
            return None
        return Step(kind, action={"why": value})
    if kind == "if":
        otherwise = _otherwise(value, where, problems, place)
        if isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k != "else"}
        return Step(
            kind, conditions=_conditions(value, where, stages, problems), otherwise=otherwise
        )
    return Step(kind, action=_action(kind, value, where, problems))


def _wait_for(value: Any, where: str, problems: list[tuple[str, str]]) -> Step | None:
    if not isinstance(value, Mapping):
        problems.append((where, "must be a table: { type = 'purchase', timeout = '1h' }"))
        return None
    for key in value:
        if key not in ("type", "timeout"):
            problems.append((f"{where}.{key}", "unknown key; expected type, timeout"))
    if value.get("type") not in INTERACTION_TYPES:
        problems.append((f"{where}.type", f"unknown interaction type {value.get('type')!r}"))
    timeout = value.get("timeout")
    span = parse_span(timeout) if isinstance(timeout, str) else None
    if span is None or span <= timedelta(0):
        problems.append((f"{where}.timeout", "must be a span such as 30m, 1h, 2d"))
        return None
    return Step("wait_for", wait=span, action={"type": str(value.get("type"))})


def _otherwise(
    value: Any, where: str, problems: list[tuple[str, str]], place: tuple[int, int]
) -> int | None:
    if not isinstance(value, Mapping) or "else" not in value or value["else"] == "stop":
        return None
    target = value["else"]
    index, total = place
    if isinstance(target, int) and not isinstance(target, bool) and index < target < total:
        return target
    problems.append(
        (f"{where}.else", f"must be 'stop' or a later step's number ({index + 1} to {total - 1})")
    )
    return None


def _conditions(
    raw: Any, where: str, stages: Sequence[str], problems: list[tuple[str, str]]
) -> Conditions:
    if not isinstance(raw, Mapping) or not raw:
        problems.append((where, "must be a table of conditions"))
        return Conditions()
    known = ("stage", "traits", "consent", "none_since_trigger", "at_most", "came")
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
    came = raw.get("came")
    if came is not None and not isinstance(came, bool):
        problems.append((f"{where}.came", "must be true or false"))
        came = None
    return Conditions(tuple(stage), dict(traits), consent, tuple(none_since), dict(at_most), came)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


_ACTION_KEYS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # (required keys, optional keys)
    "send_email": (("template", "subject"), ("html", "transactional", "purpose")),
    # with a channel (sms, …) a webhook is a message to the customer: consent, quiet hours and
    # caps apply unless it is transactional
    "webhook": (("url",), ("secret_env", "channel", "transactional", "purpose")),
    "set_trait": (("name",), ("value",)),  # no value: the trait is cleared (null)
    "add_tag": (("tag",), ()),  # to the `tags` trait (a list)
    "open_ticket": (("subject", "queue"), ("priority", "channel")),
    "callback": (("queue",), ("channel", "language")),  # a contact waiting to be called
    # an email with a signed link to a survey's form and one per score (automation/surveys.py):
    # `survey` names a survey definition; `kind` (csat, nps) its shipped one-question survey
    "send_survey": ((), ("survey", "kind", "subject", "question", "transactional", "purpose")),
    # loyalty (domain/loyalty.py): a custom interaction in the log
    "award_points": (("reason",), ("points",)),  # points: a whole number, checked below
    "set_tier": (("tier",), ()),
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
    if kind == "send_survey":
        _survey_step(raw, where, problems)
    if kind == "award_points":
        points = raw.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= 1_000_000:
            problems.append((f"{where}.points", "must be a whole number from 1 to 1000000"))
    if "transactional" in raw and not isinstance(raw["transactional"], bool):
        problems.append((f"{where}.transactional", "must be true or false"))
    if "channel" in raw and raw["channel"] not in CHANNELS:
        problems.append((f"{where}.channel", f"unknown channel {raw['channel']!r}"))
    return dict(raw)


def _survey_step(raw: Mapping[str, Any], where: str, problems: list[tuple[str, str]]) -> None:
    """A send_survey names a survey (`survey`) or a kind (`kind`, with its `subject`)."""
    if ("survey" in raw) == ("kind" in raw):
        problems.append((where, "name a survey (survey = NAME) or a kind (kind = csat|nps)"))
    if "survey" in raw and (not isinstance(raw["survey"], str) or not NAME.match(raw["survey"])):
        problems.append((f"{where}.survey", "must be a survey's name"))
    if "kind" in raw and raw["kind"] not in SURVEY_SCALES:
        problems.append((f"{where}.kind", f"must be one of {', '.join(SURVEY_SCALES)}"))
    if "kind" in raw and (not isinstance(raw.get("subject"), str) or not raw["subject"]):
        problems.append((f"{where}.subject", "missing (text)"))


def message_channel(step: Step) -> str | None:
    """The channel an action messages the customer on (None: it sends them nothing)."""
    if step.kind in ("send_email", "send_survey"):
        return "email"
    if step.kind == "webhook" and step.action.get("channel"):
        return str(step.action["channel"])
    return None


def is_marketing(step: Step) -> bool:
    """A message to the customer that is not transactional: consent, quiet hours, caps apply."""
    return message_channel(step) is not None and not step.action.get("transactional")


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
    came: bool | None = None  # whether the last wait_for's event came (None: no wait_for yet)


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
    if conditions.came is not None and facts.came is not conditions.came:
        return "the awaited event came" if facts.came else "the awaited event did not come"
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


def matches_event(trigger: Trigger, kind: str, subject: str, detail: Mapping[str, Any]) -> bool:
    """Whether a domain event (its kind, subject, and a ticket change's detail) fires a trigger:
    `ticket_solved` is a ticket's status change to solved; `ticket_breached = "any"` any clock."""
    if trigger.kind == "ticket_solved":
        return kind == "ticket_status" and detail.get("to") == "solved"
    if trigger.kind != kind:
        return False
    return trigger.subject == subject or (
        trigger.kind == "ticket_breached" and trigger.subject == ANY
    )
