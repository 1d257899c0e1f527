"""`touchpoint cc campaign create|list|show|next|connect|outcome|pause`: outbound campaigns from
the terminal — a dialer list from a lifecycle stage, abandoned carts or a CSV, the next records
to dial (each checked right then), an answered call put through to an agent, a call's VICIdial
disposition, pausing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.contact_center import group
from touchpoint.cli.options import DataDir, cli_actor, moment_parser, opened
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.outbound import CampaignView

campaign_group = typer.Typer(
    help="Outbound campaigns: dialer lists, pacing, consent and calling hours, outcomes.",
    no_args_is_help=True,
)
group.add_typer(campaign_group, name="campaign")

SHOWN = 10  # lines skipped, refusals: the first ones, then a count

DISPOSITION_HELP = (
    "A VICIdial status: A, AA (machine), B, AB (busy), N, NA (no answer), DC, ADC "
    "(disconnected), DNC, CALLBK, SALE, NI, XFER, DROP, PDROP"
)


def register(app: typer.Typer) -> None:
    """The campaign commands live under `cc` (added to its group on import)."""


@campaign_group.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The campaign's name (unique)")],
    queue: Annotated[str, typer.Option(help="The queue whose agents make the calls")],
    stage: Annotated[
        str | None, typer.Option(help="Customers in this lifecycle stage, e.g. at_risk")
    ] = None,
    abandoned_carts: Annotated[
        float | None,
        typer.Option(
            "--abandoned-carts",
            metavar="HOURS",
            help="Customers who abandoned a cart in the last HOURS (e.g. 24) and bought nothing "
            "since",
        ),
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="A CSV file with a phone column (name optional)")
    ] = None,
    pacing: Annotated[
        str,
        typer.Option(
            help="preview (an agent asks), progressive (a line per free agent), "
            "predictive (by the answer rate, drops <= 3 %)"
        ),
    ] = "preview",
    window: Annotated[
        str, typer.Option(help="Calling hours in the callee's local time, START-END")
    ] = "09:00-20:00",
    consent: Annotated[
        str,
        typer.Option(
            help="opt_in: call only who granted consent for calls; opt_out: anyone who did not "
            "withdraw it"
        ),
    ] = "opt_in",
    settings_json: Annotated[
        str | None,
        typer.Option(
            "--settings",
            help='More settings as JSON, e.g. {"retry": {"no_answer": {"max_attempts": 3}}}',
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a campaign and its list (one of --stage, --abandoned-carts, --csv). Customers
    without a phone and CSV lines without a usable number are skipped and listed."""
    from touchpoint.services.outbound import create_campaign

    given = [x for x in (stage, abandoned_carts, csv_path) if x is not None]
    if len(given) != 1:
        raise ValidationError("give one of --stage, --abandoned-carts, --csv")
    settings = _settings(pacing, window, consent, settings_json)
    source: dict[str, Any] | None = None
    text = None
    if stage is not None:
        source = {"kind": "stage", "stage": stage}
    elif abandoned_carts is not None:
        if not 0 < abandoned_carts <= 24 * 90:
            raise ValidationError("--abandoned-carts: hours, more than 0 and at most 2160")
        source = {"kind": "abandoned_carts", "hours": abandoned_carts}
    else:
        assert csv_path is not None
        try:
            text = csv_path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read {csv_path}: {exc}") from None
    with opened(data_dir) as tp:
        created = create_campaign(
            tp,
            name=name,
            queue=queue,
            settings=settings,
            source=source,
            csv_text=text,
            actor=cli_actor(),
        )
    show.console.print(
        f"campaign {show.plain(created.campaign.name)} ({created.campaign.id}): "
        f"{created.added} records, {created.campaign.pacing} pacing"
    )
    phoneless = [s for s in created.skipped if s.reason.endswith("no phone number")]
    if phoneless:
        show.console.print(f"  {len(phoneless)} customers without a phone number skipped")
    lines = [s for s in created.skipped if s not in phoneless]
    for skipped in lines[:SHOWN]:
        show.console.print(f"  skipped line {skipped.line}: {show.plain(skipped.reason)}")
    if len(lines) > SHOWN:
        show.console.print(f"  … and {len(lines) - SHOWN} more lines skipped")


def _settings(pacing: str, window: str, consent: str, extra: str | None) -> dict[str, Any]:
    start, _, end = window.partition("-")
    settings: dict[str, Any] = {}
    if extra:
        try:
            settings = json.loads(extra)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"--settings: not JSON ({exc})") from None
        if not isinstance(settings, dict):
            raise ValidationError("--settings: a JSON object")
    return settings | {"pacing": pacing, "window": [start, end], "consent": consent}


@campaign_group.command("list")
def list_(data_dir: DataDir = None) -> None:
    """Every campaign: status, pacing, records open and closed, 30-day answer and drop rates."""
    from touchpoint.services.outbound import campaigns

    with opened(data_dir) as tp:
        found = campaigns(tp)
    table = Table(title="Campaigns")
    table.add_column("name", overflow="fold")  # unique, and every command takes it (show: the id)
    for column in ("queue", "status", "pacing", "open", "closed", "answer", "drop"):
        table.add_column(column, justify="right" if column in ("open", "closed") else "left")
    for c in found:
        table.add_row(
            show.plain(c.name),
            show.plain(c.queue),
            c.status,
            c.pacing,
            str(c.records.get("open", 0)),
            str(sum(n for k, n in c.records.items() if k != "open")),
            _share(c.answer_rate),
            _share(c.drop_rate),
        )
    show.console.print(table)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@campaign_group.command("show")
def show_campaign(
    campaign: Annotated[str, typer.Argument(help="The campaign's id or name")],
    data_dir: DataDir = None,
) -> None:
    """A campaign: its settings, records by state, attempts (refusals by reason), 30-day
    figures and its first records."""
    from touchpoint.services.outbound import campaign as campaign_detail

    with opened(data_dir) as tp:
        detail = campaign_detail(tp, campaign)
    _summary(detail.campaign)
    table = Table(title="Records (first 20)")
    for column in ("id", "phone", "name", "attempts", "next attempt", "last", "closed"):
        table.add_column(column)
    for r in detail.records:
        table.add_row(
            str(r.id),
            r.phone,
            show.plain(r.name or "-"),
            str(r.attempts),
            show.when(r.next_attempt_at),
            r.last_disposition or "-",
            r.closed_reason or "-",
        )
    show.console.print(table)


def _summary(c: CampaignView) -> None:
    show.console.print(
        f"[bold]{show.plain(c.name)}[/] {c.id} · queue {show.plain(c.queue)} · {c.status} · "
        f"{c.pacing} · source {show.plain(json.dumps(c.source))}"
    )
    show.console.print(f"settings: {show.plain(json.dumps(c.settings))}")
    show.console.print(f"records: {_counts(c.records)}")
    show.console.print(f"attempts: {_counts(c.attempts)}")
    show.console.print(
        f"last 30 days: {c.dialled_30d} calls ended, {c.human_30d} answered by a person "
        f"({_share(c.answer_rate)}), {c.drops_30d} drops ({_share(c.drop_rate)} of answered)"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{show.plain(k)} {n}" for k, n in sorted(counts.items())) or "none"


@campaign_group.command("next")
def next_(
    campaign: Annotated[str, typer.Argument(help="The campaign's id or name")],
    agent: Annotated[
        str | None, typer.Option(help="A preview campaign: the agent asking for a record")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Hand out the next records to dial, each checked now (attempts, spacing, suppression,
    do-not-call, consent for calls, the callee's local hours); refusals are printed with their
    reason and never dialled."""
    from touchpoint.services.outbound import next_calls

    with opened(data_dir) as tp:
        handed = next_calls(tp, campaign, agent=agent)
    p = handed.pacing
    show.console.print(
        f"pacing: {show.plain(p.reason)} — {_n(p.lines, 'line')} for "
        f"{_n(handed.free_agents, 'free agent')}, {handed.dialling} still ringing"
    )
    for call in handed.calls:
        who = f" for {show.plain(call.agent)}" if call.agent else ""
        show.console.print(
            f"dial {call.phone} ({show.plain(call.name or '-')}){who}: attempt {call.attempt_id}"
            f" (call {call.attempt})"
        )
    for refusal in handed.refused[:SHOWN]:
        later = f", again at {show.when(refusal.retry_at)} UTC" if refusal.retry_at else ""
        show.console.print(f"[yellow]not dialled[/] {refusal.phone}: {refusal.reason}{later}")
    rest: dict[str, int] = {}
    for refusal in handed.refused[SHOWN:]:
        rest[refusal.reason] = rest.get(refusal.reason, 0) + 1
    if rest:
        show.console.print(f"[yellow]… and not dialled:[/] {_counts(rest)}")
    if not handed.calls and not handed.refused:
        show.console.print("nothing to dial now")


@campaign_group.command("connect")
def connect(
    attempt: Annotated[str, typer.Argument(help="The attempt's id (att_…) of the answered call")],
    agent: Annotated[
        str, typer.Option(help="The agent to put it through to (ready in the campaign's queue)")
    ],
    data_dir: DataDir = None,
) -> None:
    """Progressive or predictive: put a call a person answered through to a free agent, who
    holds it (no inbound offer) until its outcome is given (`touchpoint cc campaign outcome`)."""
    from touchpoint.services.outbound import connect_call

    with opened(data_dir) as tp:
        put = connect_call(tp, attempt, agent)
    show.console.print(
        f"{put.attempt_id}: {put.phone} ({show.plain(put.name or '-')}) put through to "
        f"{show.plain(put.agent or agent)}"
    )


@campaign_group.command("outcome")
def outcome(
    attempt: Annotated[str, typer.Argument(help="The attempt's id (att_…)")],
    disposition: Annotated[str, typer.Argument(help=DISPOSITION_HELP)],
    agent: Annotated[str | None, typer.Option(help="Who spoke to the person")] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, max=86_400, help="Talk time in seconds")
    ] = None,
    callback_at: Annotated[
        datetime | None,
        typer.Option(
            "--callback-at",
            parser=moment_parser("--callback-at"),
            metavar="WHEN",
            help="CALLBK: when to call back (ISO date-time; no zone means UTC)",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """How a call ended: the record is retried (per the outcome's rule) or closed, and the call
    is written to the interaction log once (the same outcome again changes nothing)."""
    from touchpoint.services.outbound import record_outcome

    with opened(data_dir) as tp:
        done = record_outcome(
            tp,
            attempt,
            disposition=disposition,
            agent=agent,
            duration_s=duration,
            callback_at=callback_at,
        )
    then = (
        f"closed ({done.closed_reason})"
        if done.closed_reason
        else f"next call at {show.when(done.retry_at)} UTC"
    )
    again = " (already recorded: nothing changed)" if done.repeated else ""
    show.console.print(f"{done.attempt_id}: {done.disposition} = {done.outcome}; {then}{again}")


@campaign_group.command("pause")
def pause(
    campaign: Annotated[str, typer.Argument(help="The campaign's id or name")],
    resume: Annotated[bool, typer.Option("--resume", help="Resume it instead")] = False,
    data_dir: DataDir = None,
) -> None:
    """Pause a campaign (nothing more is handed out; calls in progress still take their
    outcome), or resume it with --resume."""
    from touchpoint.services.outbound import set_status

    with opened(data_dir) as tp:
        view = set_status(tp, campaign, "active" if resume else "paused")
    show.console.print(f"campaign {show.plain(view.name)}: {view.status}")
