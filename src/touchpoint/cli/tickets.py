"""`touchpoint tickets list|show|open|reply|status|assign|fcr`: tickets (cases) and their SLA
clocks from the terminal, on the same services as the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, From, To, cli_actor, opened

if TYPE_CHECKING:
    from touchpoint.services.tickets import TicketView

group = typer.Typer(help="Tickets (cases) with SLA clocks in business time.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="tickets")


@group.command("list")
def list_tickets(
    status: Annotated[str | None, typer.Option(help="new, open, pending, on_hold, solved…")] = None,
    queue: Annotated[str | None, typer.Option(help="A queue of the configuration")] = None,
    owner: Annotated[str | None, typer.Option(help="An agent")] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", help="A clock breached")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    data_dir: DataDir = None,
) -> None:
    """Tickets, newest first, with the state of their clocks."""
    from touchpoint.services.tickets import find

    with opened(data_dir) as tp:
        total, views = find(
            tp, status=status, queue=queue, owner=owner, breached=breached, limit=limit
        )
    table = Table(title=f"Tickets ({total})")
    for column in ("id", "status", "priority", "queue", "owner", "subject", "clocks"):
        table.add_column(column)
    for view in views:
        table.add_row(
            view.id,
            view.status,
            view.priority,
            show.plain(view.queue or "-"),
            show.plain(view.owner or "-"),
            show.plain(view.subject),
            ", ".join(f"{c.name} {c.state}" for c in view.clocks) or "-",
        )
    show.console.print(table)


@group.command("show")
def show_ticket(
    ticket_id: Annotated[str, typer.Argument(help="tkt_…")], data_dir: DataDir = None
) -> None:
    """One ticket: its status, its SLA clocks (due, business time left) and its interactions."""
    from touchpoint.services.tickets import get

    with opened(data_dir) as tp:
        _print(get(tp, ticket_id))


@group.command("open")
def open_ticket(
    subject: Annotated[str, typer.Argument(help="What it is about")],
    queue: Annotated[str, typer.Option(help="A queue of the configuration")],
    email: Annotated[str | None, typer.Option(help="The customer's email")] = None,
    phone: Annotated[str | None, typer.Option(help="The customer's phone")] = None,
    channel: Annotated[str, typer.Option(help="Where the issue came in")] = "email",
    priority: Annotated[str, typer.Option(help="low, normal, high, urgent")] = "normal",
    owner: Annotated[str | None, typer.Option(help="An agent")] = None,
    data_dir: DataDir = None,
) -> None:
    """Open a ticket for a customer (named by email or phone); its clocks start now."""
    from touchpoint.services.tickets import open_ticket as open_one

    with opened(data_dir) as tp:
        view = open_one(
            tp,
            subject=subject,
            queue=queue,
            channel=channel,
            identity={"email": email, "phone": phone},
            priority=priority,
            owner=owner,
            actor=cli_actor(),
        )
    _print(view)


@group.command("reply")
def reply(
    ticket_id: Annotated[str, typer.Argument(help="tkt_…")],
    agent: Annotated[str, typer.Option(help="The agent replying")],
    status: Annotated[str | None, typer.Option(help="Then move it: pending, solved…")] = None,
    data_dir: DataDir = None,
) -> None:
    """Record an agent's public reply (meets the first response, starts the next one)."""
    from touchpoint.services.tickets import reply as reply_to

    with opened(data_dir) as tp:
        _print(reply_to(tp, ticket_id, agent=agent, status=status, actor=cli_actor()))


@group.command("status")
def status(
    ticket_id: Annotated[str, typer.Argument(help="tkt_…")],
    to: Annotated[str, typer.Argument(help="open, pending, on_hold, solved, closed")],
    data_dir: DataDir = None,
) -> None:
    """Move a ticket: pending pauses its clocks, solved stops them, solved → open reopens."""
    from touchpoint.services.tickets import set_status

    with opened(data_dir) as tp:
        _print(set_status(tp, ticket_id, to, actor=cli_actor()))


@group.command("assign")
def assign(
    ticket_id: Annotated[str, typer.Argument(help="tkt_…")],
    owner: Annotated[str | None, typer.Argument(help="An agent (omitted: nobody)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Give a ticket to an agent, or to nobody."""
    from touchpoint.services.tickets import assign as assign_to

    with opened(data_dir) as tp:
        _print(assign_to(tp, ticket_id, owner, actor=cli_actor()))


@group.command("fcr")
def fcr(
    start: From = None,
    end: To = None,
    window: Annotated[str, typer.Option(help="How long a solve must hold: 7d, 72h")] = "7d",
    data_dir: DataDir = None,
) -> None:
    """Ticket-based first-contact resolution of the tickets first solved in the period."""
    from datetime import UTC, datetime, timedelta

    from touchpoint.services.tickets import fcr_summary, span_seconds

    seconds = span_seconds(window, "--window")
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    with opened(data_dir) as tp:
        summary = fcr_summary(tp, start=start, end=end, window_s=seconds)
    rate = f"{summary.rate:.0%}" if summary.rate is not None else "-"
    show.console.print(
        f"{summary.solved} solved from {start.date()} to {end.date()}: "
        f"{summary.resolved_first_contact} at first contact, "
        f"{summary.not_resolved_first_contact} not, {summary.undecided} not known yet "
        f"(window {window}); FCR {rate}"
    )


def _print(view: TicketView) -> None:
    show.console.print(
        f"[bold]{view.id}[/bold] {view.status} · {view.priority} · queue "
        f"{show.plain(view.queue or '-')} · owner {show.plain(view.owner or '-')} · "
        f"reopened {view.reopen_count}× · {show.plain(view.subject)}"
    )
    table = Table(title="SLA clocks (business time)")
    for column in ("clock", "cycle", "state", "target", "remaining", "due"):
        table.add_column(column)
    for clock in view.clocks:
        table.add_row(
            clock.name,
            str(clock.cycle),
            clock.state,
            _span(clock.target_s),
            _span(clock.remaining_s),
            clock.due_at.isoformat() if clock.due_at else "-",
        )
    show.console.print(table)
    if view.interactions:
        show.console.print("interactions: " + ", ".join(show.plain(i) for i in view.interactions))


def _span(seconds: float) -> str:
    sign, left = ("-" if seconds < 0 else ""), int(abs(seconds))
    hours, rest = divmod(left, 3600)
    return f"{sign}{hours}h{rest // 60:02d}m"
