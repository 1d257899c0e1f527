"""`touchpoint playbook list|show|validate|test|runs|pause|resume`: automation's playbooks from the
terminal, on the same services as the API (README "Playbooks")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import At, DataDir, cli_actor, opened

group = typer.Typer(
    help="Playbooks: a trigger (an interaction; a stage, segment, score or ticket event; a "
    "schedule such as a birthday, N days after a first purchase, N days without activity, the 1st "
    "of the month), then steps (wait, wait_until, wait_for, if/else, stop, send_email, webhook, "
    "set_trait, add_tag, open_ticket, callback), run durably and once per customer and "
    "occurrence by the scheduler (touchpoint tick, or the server); marketing obeys consent, quiet "
    "hours and caps (<data dir>/playbooks/policy.toml). Shipped playbooks are paused until "
    "resumed; files in <data dir>/playbooks/ run unless paused. See docs/playbooks.md.",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(help="The playbook's name (touchpoint playbook list)")]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="playbook")


@group.command("list")
def list_playbooks(data_dir: DataDir = None) -> None:
    """Every playbook: its state, trigger and runs by status."""
    from touchpoint.services.playbooks import list_playbooks as listed

    with opened(data_dir) as tp:
        views = listed(tp)
    table = Table(title=f"Playbooks ({len(views)})")
    for column in ("name", "state", "trigger", "reentry", "steps", "runs"):
        table.add_column(column)
    for view in views:
        runs = ", ".join(f"{status} {n}" for status, n in view.runs.items()) or "-"
        table.add_row(
            show.plain(view.name),
            view.state + (" (shipped)" if view.shipped else ""),
            show.plain(view.trigger),
            show.plain(view.reentry),
            str(len(view.steps)),
            runs,
        )
    show.console.print(table)


@group.command("show")
def show_playbook(name: Name, data_dir: DataDir = None) -> None:
    """One playbook: where it comes from, its trigger, rules and steps."""
    from touchpoint.services.playbooks import show as found

    with opened(data_dir) as tp:
        view = found(tp, name)
    show.console.print(f"[bold]{show.plain(view.name)}[/bold]: {show.plain(view.title)}")
    show.console.print(f"state: {view.state}; file: {show.plain(view.path)}")
    show.console.print(f"trigger: {show.plain(view.trigger)}")
    show.console.print(f"reentry: {show.plain(view.reentry)}; marketing consent: {view.consent}")
    for i, step in enumerate(view.steps):
        show.console.print(f"  {i}. {show.plain(step)}")


@group.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="A playbook file (.toml)", dir_okay=False)],
    data_dir: DataDir = None,  # accepted like every command's; a file is checked on its own
) -> None:
    """Check a playbook file as a whole; each problem is named with its line."""
    from touchpoint.services.playbooks import validate as check

    playbook = check(file)
    show.console.print(
        f"{show.plain(file.name)}: playbook {show.plain(playbook.name)} is valid "
        f"({len(playbook.steps)} steps)."
    )


@group.command("test")
def dry_run(
    name: Name,
    customer: Annotated[str, typer.Option(help="The customer's id (cus_…)")],
    at: At = None,
    data_dir: DataDir = None,
) -> None:
    """Dry-run: what the playbook would do for one customer triggered at a moment (default
    now) — each step, when, and why. Nothing is sent or recorded."""
    from datetime import UTC, datetime

    from touchpoint.services.playbooks import dry_run as simulate

    with opened(data_dir) as tp:
        steps = simulate(tp, name, customer, at or datetime.now(UTC))
    table = Table(title=f"{name} for {customer} (dry run)")
    for column in ("step", "at", "action", "would", "why"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            str(step.step),
            show.when(step.at),
            show.plain(step.action),
            step.outcome,
            show.plain(step.why),
        )
    show.console.print(table)


@group.command("runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="Only this playbook's runs")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's runs")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many")] = 20,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Only failed runs: the dead letters (a webhook or send that failed its last "
            "attempt, with the last error)",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Runs, newest first, with each step's state, attempts and outcome (sent, suppressed and
    why, failures)."""
    from touchpoint.services.playbooks import list_runs

    with opened(data_dir) as tp:
        found = list_runs(tp, playbook=name, customer_id=customer, limit=limit, failed=failed)
    table = Table(title=f"Runs ({len(found)})")
    for column in ("run", "playbook", "customer", "triggered", "status", "steps"):
        table.add_column(column)
    for run in found:
        steps = "\n".join(
            f"{s.step} {s.kind}: {s.status}"
            + (f" x{s.attempts}" if s.attempts > 1 else "")
            + _outcome_text(s.outcome)
            for s in run.steps
        )
        table.add_row(
            run.id,
            show.plain(run.playbook),
            run.customer_id,
            show.when(run.trigger_at),
            run.status + (f" ({run.reason})" if run.reason else ""),
            show.plain(steps),
        )
    show.console.print(table)


@group.command("pause")
def pause(name: Name, data_dir: DataDir = None) -> None:
    """Pause: it starts no run, and its runs' due steps wait until it is resumed."""
    from touchpoint.services.playbooks import PAUSED, set_state

    with opened(data_dir) as tp:
        view = set_state(tp, name, PAUSED, actor=cli_actor())
    show.console.print(f"Playbook {show.plain(view.name)} is {view.state}.")


@group.command("resume")
def resume(name: Name, data_dir: DataDir = None) -> None:
    """Resume a paused playbook (or enable a shipped one): it acts on events from now on."""
    from touchpoint.services.playbooks import ACTIVE, set_state

    with opened(data_dir) as tp:
        view = set_state(tp, name, ACTIVE, actor=cli_actor())
    show.console.print(f"Playbook {show.plain(view.name)} is {view.state}.")


def _outcome_text(outcome: dict[str, Any] | None) -> str:
    """A step's outcome in a few words: `sent`, `suppressed: no_consent`, `stopped: why`."""
    if not outcome:
        return ""
    detail = outcome.get("why") or outcome.get("reason") or outcome.get("until") or ""
    return f" ({outcome.get('outcome')}{': ' + str(detail) if detail else ''})"
