"""What marketing messages obey besides consent, checked right before a send: quiet hours in the
customer's time zone (a send that falls in them is deferred to their end, never dropped), a cap
per channel over rolling windows (a day, a week, a month — across every playbook), and a send-by
window after which a message that could not go on time is skipped rather than sent late.

The order a send checks them: consent (refused: suppressed), stale (more than `send_within` past
its due time: suppressed `stale`), quiet hours (deferred to their end, which becomes the due time),
caps (suppressed `frequency_cap`). Transactional messages obey none of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from touchpoint.domain.moments import parse_span

PERIODS: Final[Mapping[str, timedelta]] = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}
STALE: Final = "stale"
FREQUENCY_CAP: Final = "frequency_cap"
_HHMM_LEN: Final = 5


@dataclass(frozen=True, slots=True)
class Policy:
    """Quiet hours [start, end) local time (start after end: over midnight; None: none), caps
    {channel: {period: most}}, and how late a marketing message may still go."""

    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    caps: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: {"email": {"day": 2, "week": 5}, "sms": {"day": 1, "week": 3}}
    )
    send_within: timedelta = timedelta(hours=4)


DEFAULT_POLICY: Final = Policy()


def in_quiet_hours(policy: Policy, at: datetime, zone: ZoneInfo) -> bool:
    if policy.quiet_start is None or policy.quiet_end is None:
        return False
    local = at.astimezone(zone).time()
    start, end = policy.quiet_start, policy.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_ends(policy: Policy, at: datetime, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours `at` falls in end (in `at`'s time zone), or None if it is not in them."""
    if not in_quiet_hours(policy, at, zone) or policy.quiet_end is None:
        return None
    local = at.astimezone(zone)
    day = local.date() if local.time() < policy.quiet_end else local.date() + timedelta(days=1)
    return datetime.combine(day, policy.quiet_end, tzinfo=zone).astimezone(at.tzinfo)


def is_stale(policy: Policy, due_at: datetime, now: datetime) -> bool:
    """A message more than `send_within` past its due time (a downtime, a backlog) does not go."""
    return now - due_at > policy.send_within


def cap_refusal(
    policy: Policy, channel: str, sent: Sequence[datetime], now: datetime
) -> str | None:
    """Why one more marketing message on `channel` at `now` would break a cap (None: it may go),
    given the moments of the marketing messages sent to the customer on it before."""
    for period, most in sorted(policy.caps.get(channel, {}).items()):
        span = PERIODS[period]
        count = sum(1 for at in sent if now - span < at <= now)
        if count >= most:
            return f"{FREQUENCY_CAP}: {count} {channel} in the last {period}, at most {most}"
    return None


def parse_policy(raw: Mapping[str, Any]) -> tuple[Policy, list[tuple[str, str]]]:
    """A policy from a policy file's mapping, with its problems as (path, message) pairs."""
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in ("quiet_hours", "caps", "send_within"):
            problems.append((key, "unknown key; expected quiet_hours, caps or send_within"))
    start, end = DEFAULT_POLICY.quiet_start, DEFAULT_POLICY.quiet_end
    quiet = raw.get("quiet_hours", {})
    if quiet is False:
        start = end = None
    elif isinstance(quiet, Mapping):
        start = _clock(quiet.get("start", "21:00"), "quiet_hours.start", problems)
        end = _clock(quiet.get("end", "08:00"), "quiet_hours.end", problems)
    else:
        problems.append(("quiet_hours", "must be a table with start and end, or false"))
    caps = _caps(raw.get("caps", DEFAULT_POLICY.caps), problems)
    within = raw.get("send_within", "4h")
    span = parse_span(within) if isinstance(within, str) else None
    if span is None or span <= timedelta(0):
        problems.append(("send_within", "must be a span such as 30m, 4h, 1d"))
        span = DEFAULT_POLICY.send_within
    return Policy(start, end, caps, span), problems


def _clock(value: Any, where: str, problems: list[tuple[str, str]]) -> time | None:
    if isinstance(value, str) and len(value) == _HHMM_LEN and value[2] == ":":
        try:
            return time(int(value[:2]), int(value[3:]))
        except ValueError:
            pass
    problems.append((where, "must be a local time of day HH:MM"))
    return None


def _caps(raw: Any, problems: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    if not isinstance(raw, Mapping):
        problems.append(("caps", "must be a table of channel = { day = N, week = N, month = N }"))
        return {}
    caps: dict[str, dict[str, int]] = {}
    for channel, limits in raw.items():
        if not isinstance(limits, Mapping):
            problems.append((f"caps.{channel}", "must be a table of day/week/month = N"))
            continue
        for period, most in limits.items():
            if period not in PERIODS:
                problems.append((f"caps.{channel}", f"unknown period {period!r}"))
            elif not isinstance(most, int) or isinstance(most, bool) or most < 0:
                problems.append((f"caps.{channel}.{period}", "must be a whole number"))
            else:
                caps.setdefault(str(channel), {})[period] = most
    return caps
