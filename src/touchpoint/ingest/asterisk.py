"""Asterisk's queue_log (`epoch|callid|queue|agent|EVENT|data…`, as apps/app_queue.c writes it)
read into calls: each queued call becomes one inbound `call` interaction when its end is read,
with its wait, talk time, agent, queue and outcome counted as app_queue counts them.

A call's lines are gathered by (callid, queue) until the line that ends it (COMPLETECALLER,
COMPLETEAGENT, a transfer, ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY, WITHDRAW); calls
still open at the end of the file are counted, not imported. Agents' sessions are not
interactions: `agent_steps` reads them (with each call's CONNECT and end) as steps of the
contact center's event trail, which the occupancy report reads. See docs/asterisk.md.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

from touchpoint.domain import contact_center as cc
from touchpoint.domain.identity import IdentityError, normalize_phone
from touchpoint.domain.vocabulary import Channel, InteractionType
from touchpoint.errors import ValidationError
from touchpoint.ingest.report import ItemResult

QUEUE_LOG = "asterisk-queue-log"
CDR = "asterisk-cdr"
FORMATS = (QUEUE_LOG, CDR)
ID_PREFIX = "asterisk:"  # a call's interaction id: asterisk:<callid>:<queue>:<epoch of its end>

Row = tuple[int, dict[str, Any] | ItemResult]

CALL, PHONE = InteractionType.CALL.value, Channel.PHONE.value  # read once: enum lookups cost
ANSWERED = "answered"  # the router's outcome of a contact an agent took
ABANDONED = cc.ABANDONED_OUTCOMES[0]
EXIT_WITH_KEY = "exit_with_key"  # neither answered nor abandoned, as app_queue counts it

# Events that end a call the caller did not talk through: the outcome and Asterisk's reason.
# app_queue's record_abandoned() counts ABANDON, EXITWITHTIMEOUT, EXITEMPTY and WITHDRAW as
# abandoned (callsabandoned, and callsabandonedinsl within the service level), never EXITWITHKEY.
EXITS = {
    "ABANDON": (ABANDONED, "abandon"),
    "EXITWITHTIMEOUT": (ABANDONED, "timeout"),
    "EXITEMPTY": (ABANDONED, "empty"),
    "WITHDRAW": (ABANDONED, "withdraw"),
    "EXITWITHKEY": (EXIT_WITH_KEY, "key"),
}
# Events that end a call an agent took (update_queue(): callscompleted, callscompletedinsl).
COMPLETIONS = {
    "COMPLETECALLER": "caller",
    "COMPLETEAGENT": "agent",
    "BLINDTRANSFER": "transfer",
    "ATTENDEDTRANSFER": "transfer",
    "TRANSFER": "transfer",  # Asterisk 11 and older: extension|context|holdtime|calltime|origpos
}
AGENT_EVENTS = frozenset(
    "AGENTLOGIN AGENTLOGOFF AGENTCALLBACKLOGIN AGENTCALLBACKLOGOFF ADDMEMBER REMOVEMEMBER "
    "PAUSE UNPAUSE PAUSEALL UNPAUSEALL".split()
)
# Known events that add nothing to a call Touchpoint records (said once, counted).
NOT_MAPPED = frozenset(
    "RINGCANCELED AGENTDUMP AGENTCALLED CONFIGRELOAD QUEUESTART PENALTY RINGINUSE SYSCOMPAT DID "
    "INFO UPDATEFIELD OUTCALL".split()
)
_EPOCH = re.compile(r"[0-9]{1,12}")  # ASCII digits: \d would take other scripts' too
_LARGEST_FIELD = 10**10  # a data field's seconds or milliseconds (ringtime): ~317 years in s


@dataclass(slots=True)
class _Call:
    """What the lines of one call said before its end."""

    line: int
    caller: str | None = None
    ring_no_answers: int = 0
    ring_no_answer_ms: int = 0
    ring_no_answer_agents: list[str] = field(default_factory=list)
    connect: tuple[str, float, float] | None = None  # agent, holdtime, ringtime


@dataclass(slots=True)
class _Line:
    number: int
    at: int
    callid: str
    queue: str
    agent: str
    event: str
    data: list[str]

    def number_at(self, index: int, name: str) -> float:
        """The data field at `index` as a number; ValidationError naming it."""
        value = self.data[index] if -len(self.data) <= index < len(self.data) else ""
        where = f"{self.event}: {name} (data field {index % max(len(self.data), 1) + 1})"
        try:
            number = int(value.strip())
        except ValueError:
            raise ValidationError(f"{where} is not a whole number: {value!r}") from None
        if not 0 <= number <= _LARGEST_FIELD:
            raise ValidationError(f"{where} is out of range: {value.strip()[:40]}")
        return float(number)


def read_queue_log(
    stream: IO[bytes],
    *,
    name: str = "the file",
    default_region: str = "US",
    warn: Callable[[str], None] | None = None,
) -> Iterator[Row]:
    """Each ended call as an interaction (numbered by its last line), each line that is not
    queue_log as a rejection; `warn` hears the counts of calls still open, agents' session
    events and events not mapped. A file with no call ended and no agent session line (the
    trail's import, `agent_steps`) is a ValidationError: nothing to import; one of agents'
    sessions only has no rows, and is no mistake."""
    calls: dict[tuple[str, str], _Call] = {}
    agent_events: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    ended = rejected = 0
    for number, raw in enumerate(stream, start=1):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.strip():
            continue
        try:
            line = parse_line(number, text)
            if line.event in AGENT_EVENTS:
                agent_events[line.event] += 1
            elif line.event in NOT_MAPPED:
                unmapped[line.event] += 1
            else:
                call = _follow(calls, line, default_region)
                if call is not None:
                    ended += 1
                    yield number, call
        except ValidationError as exc:
            rejected += 1
            yield number, ItemResult(number, "rejected", reason=str(exc))
    if not ended and not agent_events and not rejected and not (calls or unmapped):
        raise ValidationError(f"{name} is empty: nothing to import")  # blank lines only
    if not ended and not agent_events and (calls or unmapped):
        read = [
            (len(calls), "call(s) still in progress"),
            (unmapped.total(), "line(s) of events a call does not need"),
        ]
        found = ", ".join(f"{n:,} {what}" for n, what in read if n)
        raise ValidationError(f"{name}: no call ends in it ({found}): nothing to import")
    _say_counts(warn, calls, agent_events, unmapped)


def parse_line(number: int, text: str) -> _Line:
    fields = text.split("|")
    if len(fields) < 5:
        raise ValidationError(
            f"not a queue_log line: {len(fields)} field(s), expected "
            "epoch|callid|queue|agent|EVENT|data…"
        )
    epoch, callid, queue, agent, event = map(str.strip, fields[:5])
    data = fields[5:]  # stripped where read
    if not _EPOCH.fullmatch(epoch):
        raise ValidationError(f"time: {epoch!r} is not a Unix time in seconds")
    if not event:
        raise ValidationError("event: empty")
    return _Line(number, int(epoch), callid, queue, agent, event.upper(), data)


def _follow(calls: dict[tuple[str, str], _Call], line: _Line, region: str) -> dict[str, Any] | None:
    """Fold one call event; the interaction when it ends the call."""
    known = line.event in EXITS or line.event in COMPLETIONS
    if not known and line.event not in ("ENTERQUEUE", "CONNECT", "RINGNOANSWER"):
        raise ValidationError(f"unknown event {line.event!r}")
    if not line.callid or line.callid.upper() == "NONE" or not line.queue:
        raise ValidationError(f"{line.event}: a call event needs its callid and queue")
    key = (line.callid, line.queue)
    if line.event == "ENTERQUEUE":  # url|callerid|origposition[|callername]
        caller = line.data[1].strip() if len(line.data) > 1 else ""
        calls[key] = _Call(line.number, caller=caller or None)
        return None
    call = calls.get(key) or _Call(line.number)
    if line.event == "RINGNOANSWER":  # ringtime in milliseconds
        ms = line.number_at(0, "ringtime")
        call.ring_no_answers += 1
        call.ring_no_answer_ms += int(ms)
        call.ring_no_answer_agents.append(line.agent)
        calls[key] = call
        return None
    if line.event == "CONNECT":  # holdtime|bridgedchanneluniqueid|ringtime
        hold = line.number_at(0, "holdtime")
        ring = line.number_at(2, "ringtime") if len(line.data) > 2 else 0.0
        call.connect = (line.agent, hold, ring)
        calls[key] = call
        return None
    calls.pop(key, None)  # ended, even if its end line is refused: it is not still in progress
    return _ended(line, call, region)


def _ended(line: _Line, call: _Call, region: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"asterisk_callid": line.callid}
    if line.event in EXITS:
        outcome, reason = EXITS[line.event]
        offset = 1 if line.event == "EXITWITHKEY" else 0  # key|position|origposition|waittime
        wait = line.number_at(offset + 2, "waittime")
        properties |= {
            cc.WAIT_PROPERTY: wait,
            "queue_exit": reason,
            "position": int(line.number_at(offset, "position")),
            "original_position": int(line.number_at(offset + 1, "origposition")),
        }
        if offset:
            properties["key"] = line.data[0].strip()
        agent, talk = None, None
    else:
        # holdtime|calltime|origposition are the last three fields of every completion
        # (transfers put the target before them: exten|context, BRIDGE|id, LINK|chan|chan).
        wait = line.number_at(-3, "holdtime")
        talk = line.number_at(-2, "calltime")
        properties |= {
            cc.WAIT_PROPERTY: wait,
            "ended_by": COMPLETIONS[line.event],
            "original_position": int(line.number_at(-1, "origposition")),
        }
        properties |= _transfer(line)
        agent, outcome = line.agent or (call.connect[0] if call.connect else None), ANSWERED
        if call.connect:
            properties["ring_s"] = call.connect[2]
    if call.ring_no_answers:
        properties |= {
            "ring_no_answers": call.ring_no_answers,
            "ring_no_answer_s": call.ring_no_answer_ms / 1000,
            "ring_no_answer_agents": call.ring_no_answer_agents,
        }
    started = line.at - wait - (talk or 0)
    interaction: dict[str, Any] = {
        "id": f"{ID_PREFIX}{line.callid}:{line.queue}:{line.at}",
        "type": CALL,
        "channel": PHONE,
        "direction": cc.INBOUND,
        "occurred_at": _moment(started, line).isoformat(),
        "customer": _caller(call.caller, line.callid, region, properties),
        "name": line.event,
        "queue": line.queue,
        "outcome": outcome,
        "properties": properties,
    }
    if agent:
        interaction |= {"agent": agent, "duration_s": talk}
    return interaction


def _moment(epoch: float, line: _Line) -> datetime:
    """When the call entered the queue (its end less its wait and talk), refused when the
    figures put it before any calendar (the event window refuses what is merely implausible)."""
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationError(
            f"{line.event}: its wait and talk time put the call's start out of range"
        ) from None


def _caller(
    number: str | None, callid: str, region: str, properties: dict[str, Any]
) -> dict[str, str]:
    phone = caller_phone(number, region, properties)
    return {"phone": phone} if phone else {"anonymous_id": call_identity(callid)}


def _transfer(line: _Line) -> dict[str, Any]:
    if line.event == "ATTENDEDTRANSFER":  # BRIDGE|id, APP|app or LINK|chan|chan, then 3 fields
        target = ":".join(d.strip() for d in line.data[:-3])
        kind = "attended"
    elif line.event in ("BLINDTRANSFER", "TRANSFER"):  # exten|context, then 3 fields
        exten, context = (d.strip() for d in (line.data + ["", ""])[:2])
        target = f"{exten}@{context}" if context else exten
        kind = "blind"
    else:
        return {}
    return {cc.TRANSFERS_PROPERTY: 1, "transfer": kind, "transfer_to": target}


def call_identity(callid: str) -> str:
    """The anonymous id of one Asterisk call (its channel's uniqueid): the caller of a call
    whose number is unknown, and the link a CDR row with the same uniqueid makes to its phone."""
    return f"{ID_PREFIX}{callid}"


def caller_phone(number: str | None, region: str, properties: dict[str, Any]) -> str | None:
    """The caller's number in E.164 (the identity rules) when it is a phone number; a caller id
    that is not one is kept as the `caller_id` property."""
    if number and number.strip().lower() not in ("", "anonymous", "unknown", "restricted"):
        phone = _phone(number, region)
        if phone is None:
            properties["caller_id"] = number
        return phone
    return None


@lru_cache(maxsize=65_536)  # callers call again: parse each number once per import, not per call
def _phone(number: str, region: str) -> str | None:
    try:
        return normalize_phone(number, region)
    except IdentityError:
        return None


def _say_counts(
    warn: Callable[[str], None] | None,
    calls: dict[tuple[str, str], _Call],
    agent_events: Counter[str],
    unmapped: Counter[str],
) -> None:
    if warn is None:
        return
    if calls:
        first = sorted(call.line for call in calls.values())[:3]
        lines = ", ".join(str(n) for n in first) + (", ..." if len(calls) > 3 else "")
        warn(
            f"{len(calls):,} call(s) still in progress at the end of the file (no end line "
            f"yet; first seen on line {lines}): not imported; import the file that holds their "
            "end"
        )
    if agent_events:
        warn(
            f"{agent_events.total():,} agent session line(s), not interactions (kept in the "
            f"contact center's event trail): {_counts(agent_events)}"
        )
    if unmapped:
        warn(f"{unmapped.total():,} line(s) of events a call does not need: {_counts(unmapped)}")


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{event} {n:,}" for event, n in sorted(counter.items()))


# --- agents' sessions, for the contact center's event trail ----------------------------------

# Each agent session event as a step of the router's trail (domain.contact_center): logged in
# and ready, paused (not ready: still logged in), logged out. The trail knows agents, not
# memberships, so ADDMEMBER logs in only an agent in no queue yet, and REMOVEMEMBER logs out
# only from the agent's last queue (`agent_steps` follows each agent's queues through the file).
SESSION_STEPS = {
    "AGENTLOGIN": "ready",
    "AGENTCALLBACKLOGIN": "ready",
    "ADDMEMBER": "ready",
    "UNPAUSE": "ready",
    "UNPAUSEALL": "ready",
    "PAUSE": "not_ready",
    "PAUSEALL": "not_ready",
    "AGENTLOGOFF": cc.LOGGED_OUT,
    "AGENTCALLBACKLOGOFF": cc.LOGGED_OUT,
    "REMOVEMEMBER": cc.LOGGED_OUT,
}
TAKEN, LEFT = cc.CONTACT_TAKEN[0], cc.CONTACT_LEFT[0]  # accepted, completed
STEP_KEY = "asterisk"  # the trail entry's detail names its queue_log line by this key


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One queue_log line as a step of an agent's day: `key` names the line (the same line
    imported again is the same step), `contact` the call for CONNECT and its end."""

    key: str
    at: datetime
    kind: str
    agent: str
    queue: str | None
    contact: str | None
    event: str


def agent_steps(stream: IO[bytes]) -> Iterator[AgentStep]:
    """The agents' session lines and each call's CONNECT and end (busy from one to the other),
    in file order; lines that are not queue_log, or name no agent, are left out (the call
    import reports them). A member added to a second queue, or removed from one while still
    in another, is no step: the agent stays logged in until removed from the last queue (or
    AGENTLOGOFF); memberships are the file's own (one added yesterday, in another file, is not
    known, so its removal logs the agent out)."""
    member_of: dict[str, set[str]] = {}  # agent -> queues added to and not removed from
    for number, raw in enumerate(stream, start=1):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.strip():
            continue
        try:
            line = parse_line(number, text)
            at = _moment(line.at, line)
        except ValidationError:
            continue
        if not line.agent or line.agent.upper() == "NONE":
            continue
        contact = None
        if line.event in SESSION_STEPS:
            if not _membership_moves(member_of, line):
                continue
            kind = SESSION_STEPS[line.event]
        elif line.event == "CONNECT" or line.event in COMPLETIONS:
            kind = TAKEN if line.event == "CONNECT" else LEFT
            contact = call_contact(line.callid, line.queue)
        else:
            continue
        key = hashlib.sha1(text.strip().encode(), usedforsecurity=False).hexdigest()
        yield AgentStep(key, at, kind, line.agent, line.queue or None, contact, line.event)


def call_contact(callid: str, queue: str) -> str:
    """The trail's contact id of a queued call (fits the trail's 40 characters)."""
    digest = hashlib.sha1(f"{callid}|{queue}".encode(), usedforsecurity=False).hexdigest()
    return "ast_" + digest[:32]


def _membership_moves(member_of: dict[str, set[str]], line: _Line) -> bool:
    """Follow the agent's queues; whether the line changes the agent's session (False for an
    ADDMEMBER while in another queue, or a REMOVEMEMBER leaving another queue still joined)."""
    queues = member_of.setdefault(line.agent, set())
    queue = line.queue if line.queue and line.queue.upper() != "NONE" else ""
    if line.event == "ADDMEMBER":
        already = bool(queues - {queue})
        queues.add(queue)
        return not already
    if line.event == "REMOVEMEMBER":
        queues.discard(queue)
        return not queues
    if SESSION_STEPS[line.event] == cc.LOGGED_OUT:  # AGENTLOGOFF: out of every queue
        queues.clear()
    return True
