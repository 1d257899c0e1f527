"""Outbound campaigns, defined once: VICIdial-style dispositions and the Touchpoint outcome each
one is, the retry policy per outcome, the callee's local calling window (from the phone number's
time zones, the most restrictive when there are several), the checks a record must pass every
time it is handed out, and the pacing of the three dialling modes. Pure; contact_center/outbound.py
keeps the state.

- **Dispositions** (`DISPOSITIONS`): VICIdial's status codes as its agents' screens and its
  auto-dialer set them (A, AA, B, AB, N, NA, DC, ADC, DNC, CALLBK, SALE, NI, XFER, DROP, PDROP),
  each mapped to one Touchpoint outcome, whether a person answered, whether it is a drop (a
  person answered and no agent was there: DROP, and PDROP, dropped before routing), and whether
  the record may be called again.
- **Drop rate** = drops / calls answered by a person, over the campaign's last 30 days (the rule
  of the US FTC's Telemarketing Sales Rule and Ofcom: at most 3 %, measured per campaign over 30
  days). Predictive pacing never dials past a projection that would break it.
- **Pacing**: preview (an agent asks for the next record), progressive (one line per free
  agent), predictive (lines per free agent from the answer rate, capped by the drop rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

# --- outcomes and dispositions ------------------------------------------------------------------

NO_ANSWER: Final = "no_answer"
BUSY: Final = "busy"
MACHINE: Final = "machine"
DISCONNECTED: Final = "disconnected"
DO_NOT_CALL: Final = "do_not_call"
CALLBACK_REQUESTED: Final = "callback_requested"  # the same word as an inbound callback's
SALE: Final = "sale"
NOT_INTERESTED: Final = "not_interested"
TRANSFERRED: Final = "transferred"
DROPPED: Final = "dropped"
OUTCOMES: Final[tuple[str, ...]] = (
    NO_ANSWER,
    BUSY,
    MACHINE,
    DISCONNECTED,
    DO_NOT_CALL,
    CALLBACK_REQUESTED,
    SALE,
    NOT_INTERESTED,
    TRANSFERRED,
    DROPPED,
)


@dataclass(frozen=True, slots=True)
class Disposition:
    code: str  # VICIdial's status code
    label: str  # VICIdial's status name
    outcome: str  # the Touchpoint outcome the call is logged with
    human: bool  # a person answered (the drop rate's denominator)
    drop: bool = False  # a person answered and no agent took the call (the numerator)


# One table. Labels as VICIdial's system and default campaign statuses name them.
DISPOSITIONS: Final[Mapping[str, Disposition]] = {
    d.code: d
    for d in (
        Disposition("A", "Answering Machine", MACHINE, human=False),
        Disposition("AA", "Answering Machine Auto", MACHINE, human=False),
        Disposition("B", "Busy", BUSY, human=False),
        Disposition("AB", "Busy Auto", BUSY, human=False),
        Disposition("N", "No Answer", NO_ANSWER, human=False),
        Disposition("NA", "No Answer AutoDial", NO_ANSWER, human=False),
        Disposition("DC", "Disconnected Number", DISCONNECTED, human=False),
        Disposition("ADC", "Disconnected Number Auto", DISCONNECTED, human=False),
        Disposition("DNC", "Do Not Call", DO_NOT_CALL, human=True),
        Disposition("CALLBK", "Call Back", CALLBACK_REQUESTED, human=True),
        Disposition("SALE", "Sale Made", SALE, human=True),
        Disposition("NI", "Not Interested", NOT_INTERESTED, human=True),
        Disposition("XFER", "Call Transferred", TRANSFERRED, human=True),
        Disposition("DROP", "Agent Not Available", DROPPED, human=True, drop=True),
        Disposition("PDROP", "Outbound Pre-Routing Drop", DROPPED, human=True, drop=True),
    )
}


def disposition(code: str) -> Disposition:
    """The disposition a code names (any case); ValueError naming the known codes otherwise."""
    found = DISPOSITIONS.get(code.strip().upper())
    if found is None:
        raise ValueError(f"unknown disposition {code!r}; one of: {', '.join(DISPOSITIONS)}")
    return found


# --- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryRule:
    """After a call ending so, the record is called again `spacing_s` later, unless it has had
    `max_attempts` calls by then."""

    max_attempts: int
    spacing_s: float


# Outcomes absent here are final: the record is closed (a sale, not interested, disconnected…).
DEFAULT_RETRY: Final[Mapping[str, RetryRule]] = {
    NO_ANSWER: RetryRule(max_attempts=6, spacing_s=2 * 3600.0),
    BUSY: RetryRule(max_attempts=6, spacing_s=15 * 60.0),
    MACHINE: RetryRule(max_attempts=4, spacing_s=4 * 3600.0),
    CALLBACK_REQUESTED: RetryRule(max_attempts=8, spacing_s=24 * 3600.0),
    DROPPED: RetryRule(max_attempts=6, spacing_s=30 * 60.0),
}
RETRYABLE: Final[tuple[str, ...]] = tuple(DEFAULT_RETRY)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What a call's outcome does to its record: call again at `retry_at`, or close it."""

    retry_at: datetime | None
    closed_reason: str | None  # the outcome (final), or "max_attempts"


def after_call(
    outcome: str,
    attempts: int,
    ended_at: datetime,
    retry: Mapping[str, RetryRule],
    callback_at: datetime | None = None,
) -> NextStep:
    """The record's next step after its `attempts`-th call ended with `outcome` at `ended_at`;
    a callback asked for a moment is called then (not before the spacing of a busy line)."""
    rule = retry.get(outcome)
    if rule is None:
        return NextStep(None, outcome)
    if attempts >= rule.max_attempts:
        return NextStep(None, "max_attempts")
    at = ended_at + timedelta(seconds=rule.spacing_s)
    if outcome == CALLBACK_REQUESTED and callback_at is not None:
        at = max(callback_at, ended_at)
    return NextStep(at, None)


# --- the callee's calling window ----------------------------------------------------------------

DEFAULT_WINDOW: Final = (time(9, 0), time(20, 0))
END_OF_DAY: Final = "24:00"  # a window's end at local midnight (time.max)
UNKNOWN_ZONE: Final = phone_timezones.UNKNOWN_TIMEZONE  # phonenumbers' "Etc/Unknown"
_LOOK_AHEAD_DAYS: Final = 8


def callee_zones(e164: str) -> tuple[str, ...]:
    """The time zones the number may ring in: phonenumbers' zones for its prefix; when it knows
    none (an unassigned or non-geographic prefix), every zone of the number's country code; ()
    when even that is unknown or the number does not parse."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in phone_timezones.time_zones_for_number(number) if z != UNKNOWN_ZONE)
    if not zones:
        zones = tuple(
            z
            for z in phone_timezones.time_zones_for_geographical_number(number)
            if z != UNKNOWN_ZONE
        )
    return tuple(sorted(zones))


def region_of(e164: str) -> str | None:
    """The number's region (ISO country), when phonenumbers can tell."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


@dataclass(frozen=True, slots=True)
class WindowCheck:
    inside: bool  # every zone the number may ring in is inside its window now
    opens_at: datetime | None  # not inside: when the common window next opens (None: never)
    closes_at: datetime | None  # inside: when it closes


def _local_spans(
    zone: ZoneInfo, start: time, end: time, around: date
) -> list[tuple[datetime, datetime]]:
    """The window's instants in UTC on the local days around `around` (DST from zoneinfo: a
    local time that does not exist is read with the offset before the change)."""
    spans = []
    for offset in range(-1, _LOOK_AHEAD_DAYS):
        day = around + timedelta(days=offset)
        opens = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
        if closes > opens:
            spans.append((opens, closes))
    return spans


def _intersect(
    a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if lo < hi:
                out.append((lo, hi))
    return sorted(out)


def calling_window(
    zones: Iterable[str], now: datetime, window: tuple[time, time] = DEFAULT_WINDOW
) -> WindowCheck:
    """Whether `now` is inside the window [start, end) local time in every one of `zones` (the
    most restrictive intersection), and when that changes. No zones: never inside."""
    start, end = window
    common: list[tuple[datetime, datetime]] | None = None
    for name in zones:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return WindowCheck(False, None, None)
        spans = _local_spans(zone, start, end, now.astimezone(zone).date())
        common = spans if common is None else _intersect(common, spans)
    for opens, closes in common or []:
        if opens <= now < closes:
            return WindowCheck(True, None, closes)
        if opens > now:
            return WindowCheck(False, opens, None)
    return WindowCheck(False, None, None)


# --- campaign settings --------------------------------------------------------------------------

PREVIEW: Final = "preview"
PROGRESSIVE: Final = "progressive"
PREDICTIVE: Final = "predictive"
PACINGS: Final[tuple[str, ...]] = (PREVIEW, PROGRESSIVE, PREDICTIVE)

OPT_IN: Final = "opt_in"  # call only who granted consent for calls
OPT_OUT: Final = "opt_out"  # call anyone who has not withdrawn it
CONSENT_RULES: Final[tuple[str, ...]] = (OPT_IN, OPT_OUT)
CALL_CONSENT_CHANNEL: Final = "phone"
DEFAULT_CALL_PURPOSE: Final = "marketing"  # domain.consent's default purpose: marketing calls

DROP_CAP: Final = 0.03  # the most a campaign's drop rate may be over DROP_WINDOW
DROP_WINDOW: Final = timedelta(days=30)
MIN_DIALLED: Final = 30  # predictive stays progressive until this many calls ended in the window
DEFAULT_MAX_RATIO: Final = 3.0  # lines per free agent at most (VICIdial's dial level)


@dataclass(frozen=True)
class CampaignSettings:
    pacing: str = PREVIEW
    window: tuple[time, time] = DEFAULT_WINDOW
    consent: str = OPT_IN
    purpose: str = DEFAULT_CALL_PURPOSE
    retry: Mapping[str, RetryRule] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    drop_cap: float = DROP_CAP
    max_ratio: float = DEFAULT_MAX_RATIO

    def document(self) -> dict[str, Any]:
        """As stored and shown (JSON)."""
        return {
            "pacing": self.pacing,
            "window": [_text(self.window[0]), _text(self.window[1])],
            "consent": self.consent,
            "purpose": self.purpose,
            "retry": {
                o: {"max_attempts": r.max_attempts, "spacing_s": r.spacing_s}
                for o, r in self.retry.items()
            },
            "drop_cap": self.drop_cap,
            "max_ratio": self.max_ratio,
        }


def _clock(text: Any, name: str) -> time:
    if str(text) == END_OF_DAY:
        return time.max
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a time of day like 09:00") from None


def _text(moment: time) -> str:
    return END_OF_DAY if moment == time.max else moment.strftime("%H:%M")


def campaign_settings(document: Mapping[str, Any]) -> CampaignSettings:
    """Settings from a document (what `document()` writes; absent keys take the defaults);
    ValueError naming the field on a mistake."""
    unknown = set(document) - set(CampaignSettings().document())
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a campaign setting")
    pacing = document.get("pacing", PREVIEW)
    if pacing not in PACINGS:
        raise ValueError(f"pacing: {pacing!r} is not one of {', '.join(PACINGS)}")
    raw_window = document.get("window", [t.strftime("%H:%M") for t in DEFAULT_WINDOW])
    if not isinstance(raw_window, list | tuple) or len(raw_window) != 2:
        raise ValueError('window: give [start, end], e.g. ["09:00", "20:00"]')
    window = (_clock(raw_window[0], "window"), _clock(raw_window[1], "window"))
    if window[0] >= window[1]:
        raise ValueError("window: the start must come before the end, within one day")
    consent = document.get("consent", OPT_IN)
    if consent not in CONSENT_RULES:
        raise ValueError(f"consent: {consent!r} is not one of {', '.join(CONSENT_RULES)}")
    purpose = str(document.get("purpose", DEFAULT_CALL_PURPOSE))
    if not purpose or len(purpose) > 100:
        raise ValueError("purpose: 1 to 100 characters")
    retry = _retry(document.get("retry", {}))
    drop_cap = _number(document.get("drop_cap", DROP_CAP), "drop_cap")
    if not 0 < drop_cap <= DROP_CAP:
        raise ValueError(f"drop_cap: more than 0 and at most {DROP_CAP}")
    max_ratio = _number(document.get("max_ratio", DEFAULT_MAX_RATIO), "max_ratio")
    if not 1 <= max_ratio <= 10:
        raise ValueError("max_ratio: from 1 to 10 lines per free agent")
    return CampaignSettings(pacing, window, consent, purpose, retry, drop_cap, max_ratio)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: {value!r} is not a number")
    return float(value)


def _retry(given: Any) -> dict[str, RetryRule]:
    """The default policy with the outcomes `given` overrides (max_attempts, spacing_s)."""
    if not isinstance(given, Mapping):
        raise ValueError("retry: a table of outcome = {max_attempts, spacing_s}")
    retry = dict(DEFAULT_RETRY)
    for outcome, rule in given.items():
        if outcome not in RETRYABLE:
            raise ValueError(f"retry.{outcome}: only {', '.join(RETRYABLE)} are retried")
        if not isinstance(rule, Mapping) or set(rule) - {"max_attempts", "spacing_s"}:
            raise ValueError(f"retry.{outcome}: give max_attempts and/or spacing_s")
        base = retry[outcome]
        attempts = _number(rule.get("max_attempts", base.max_attempts), f"retry.{outcome}")
        spacing = _number(rule.get("spacing_s", base.spacing_s), f"retry.{outcome}")
        if attempts != int(attempts) or not 1 <= attempts <= 100 or not 0 <= spacing <= 90 * 86400:
            raise ValueError(
                f"retry.{outcome}: max_attempts 1-100, spacing_s 0 to 90 days in seconds"
            )
        retry[outcome] = RetryRule(int(attempts), spacing)
    return retry


# --- the checks at dial time --------------------------------------------------------------------

REFUSAL_REASONS: Final[tuple[str, ...]] = (
    "max_attempts",  # no attempt left after the last outcome (closes the record)
    "retry_spacing",  # called too recently for the last outcome (retried once it has passed)
    "suppressed",  # the number belongs to an erased person (closes)
    "do_not_call",  # on the do-not-call list (closes)
    "no_consent",  # no consent for calls (opt-in), or it was withdrawn (closes)
    "outside_window",  # outside the callee's local calling hours (retried when they open)
    "no_calling_window",  # the number's zones share no calling hours, or none is known (closes)
)
CLOSING_REFUSALS: Final = frozenset(
    {"max_attempts", "suppressed", "do_not_call", "no_consent", "no_calling_window"}
)


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the checks read about one record at the moment it would be handed out."""

    attempts: int
    last_outcome: str | None
    due_at: datetime | None  # not before then: the last outcome's spacing, or a callback's time
    suppressed: bool
    do_not_call: bool
    consent: str | None  # the consent for calls in force: granted, withdrawn, or None (never said)
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DialCheck:
    reason: str | None  # None: dial it
    retry_at: datetime | None = None  # a refusal that passes later: when to look again


def dial_check(facts: RecordFacts, settings: CampaignSettings, now: datetime) -> DialCheck:
    """Whether the record may be dialled now, or the first reason it may not (in the order a
    refusal is least likely to change: attempts, spacing, suppression, do-not-call, consent,
    the calling window)."""
    rule = settings.retry.get(facts.last_outcome) if facts.last_outcome else None
    if facts.last_outcome is not None and rule is None:
        return DialCheck("max_attempts")  # a final outcome: nothing more to try
    if rule is not None and facts.attempts >= rule.max_attempts:
        return DialCheck("max_attempts")
    if facts.due_at is not None and now < facts.due_at:
        return DialCheck("retry_spacing", facts.due_at)
    if facts.suppressed:
        return DialCheck("suppressed")
    if facts.do_not_call:
        return DialCheck("do_not_call")
    if not consents(facts.consent, settings.consent):
        return DialCheck("no_consent")
    window = calling_window(facts.zones, now, settings.window)
    if not window.inside:
        if window.opens_at is None:
            return DialCheck("no_calling_window")
        return DialCheck("outside_window", window.opens_at)
    return DialCheck(None)


def consents(status: str | None, rule: str) -> bool:
    """Consent for calls under a campaign's rule: opt-in needs it granted; opt-out only that it
    was not withdrawn."""
    return status == "granted" if rule == OPT_IN else status != "withdrawn"


# --- pacing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialHistory:
    """A campaign's calls that ended within the drop window: all, answered by a person, drops."""

    dialled: int
    human: int
    drops: int

    @property
    def answer_rate(self) -> float | None:
        return self.human / self.dialled if self.dialled else None

    @property
    def drop_rate(self) -> float | None:
        return self.drops / self.human if self.human else None


def history_of(dispositions: Iterable[str]) -> DialHistory:
    """The history of calls ended with these disposition codes."""
    found = [DISPOSITIONS[c] for c in dispositions]
    return DialHistory(len(found), sum(d.human for d in found), sum(d.drop for d in found))


@dataclass(frozen=True, slots=True)
class Pacing:
    lines: int  # calls to place now
    reason: str
    answer_rate: float | None = None
    drop_rate: float | None = None  # the window's so far
    projected_drop_rate: float | None = None  # if these lines are answered as expected


def expected_drops(lines: int, answer_rate: float, agents: int) -> float:
    """E[(X - agents)+] for X ~ Binomial(lines, answer_rate): the people expected to answer with
    no agent free, if each line is answered independently at the answer rate."""
    if lines <= agents or answer_rate <= 0:
        return 0.0
    if answer_rate >= 1:
        return float(lines - agents)
    log_a, log_b = math.log(answer_rate), math.log1p(-answer_rate)
    total = 0.0
    for x in range(agents + 1, lines + 1):
        log_p = (
            math.lgamma(lines + 1)
            - math.lgamma(x + 1)
            - math.lgamma(lines - x + 1)
            + x * log_a
            + (lines - x) * log_b
        )
        total += (x - agents) * math.exp(log_p)
    return total


def projected_drop_rate(history: DialHistory, lines: int, answer_rate: float, agents: int) -> float:
    """The window's drop rate once `lines` more calls are answered as expected."""
    human = history.human + lines * answer_rate
    drops = history.drops + expected_drops(lines, answer_rate, agents)
    return drops / human if human else 0.0


def _within_cap(history: DialHistory, lines: int, rate: float, agents: int, cap: float) -> bool:
    """Both the window's projected drop rate and this round's own expected drops / expected
    answers stay within the cap: the round neither breaks the rolling rate nor spends a budget
    of drops the window's good history left (which would leave the next rounds at the cap)."""
    drops = expected_drops(lines, rate, agents)
    return drops <= cap * lines * rate and projected_drop_rate(history, lines, rate, agents) <= cap


def pace(pacing: str, free_agents: int, history: DialHistory, settings: CampaignSettings) -> Pacing:
    """How many calls to place now for `free_agents` free agents. Preview: one per agent who
    asks (the caller's job). Progressive: one per free agent. Predictive: the most lines (up to
    max_ratio per agent) whose expected drops keep both the window's projected drop rate and the
    round's own within the cap; progressive while the
    campaign has under MIN_DIALLED ended calls in the window, no answer yet, or a drop rate
    already at the cap (progressive expects no drop)."""
    if free_agents <= 0:
        return Pacing(0, "no free agent")
    if pacing != PREDICTIVE:
        return Pacing(free_agents, f"{pacing}: one line per free agent")
    rate, drop_rate = history.answer_rate, history.drop_rate
    if history.dialled < MIN_DIALLED or not rate:
        return Pacing(free_agents, "predictive, learning: one line per free agent", rate, drop_rate)
    if drop_rate is not None and drop_rate >= settings.drop_cap:
        return Pacing(
            free_agents, "predictive, drop rate at the cap: one line per agent", rate, drop_rate
        )
    # Both ratios are quasi-convex in the lines (expected drops are convex in them: one more
    # line adds rate * P(X >= agents)) and within the cap at one line per agent, so the lines
    # within the cap run from there to a largest one: found by bisection.
    lines, most = free_agents, math.floor(free_agents * settings.max_ratio)
    while lines < most:
        middle = (lines + most + 1) // 2
        if _within_cap(history, middle, rate, free_agents, settings.drop_cap):
            lines = middle
        else:
            most = middle - 1
    projected = projected_drop_rate(history, lines, rate, free_agents)
    return Pacing(lines, "predictive: capped by the drop rate", rate, drop_rate, projected)
