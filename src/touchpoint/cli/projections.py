"""`touchpoint projections status|catch-up` and `touchpoint tick`: how far each projection has
applied the log, catching up after a deferred import, and the scheduler's run for cron."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, Now, opened

if TYPE_CHECKING:
    from collections.abc import Callable

    from touchpoint.automation.base import RunReport
    from touchpoint.projections.contract import CatchUpResult, TickResult
    from touchpoint.projections.contract import Progress as Tracker
    from touchpoint.services.loyalty import LoyaltyRun

group = typer.Typer(
    help="Projections of the log (lifecycle stages, and more to come): status and catch-up.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="projections")
    app.command("tick")(tick_command)


@group.command("status")
def status_command(data_dir: DataDir = None) -> None:
    """How far each projection has applied the log: checkpoint, lag and next due time.

    The checkpoint is the last log position a projection applied; the lag, the log events it has
    not applied yet (after a bulk import, until its catch-up)."""
    with opened(data_dir) as tp:
        rows = tp.projections.status()
    table = Table(title="Projections")
    for column in ("projection", "version", "checkpoint", "log", "lag", "state", "next due"):
        table.add_column(column, justify="left" if column in ("projection", "state") else "right")
    for row in rows:
        state = "needs replay" if row.needs_replay else ("behind" if row.lag else "current")
        style = "red" if row.needs_replay else ("yellow" if row.lag else "green")
        table.add_row(
            row.name,
            str(row.version),
            f"{row.checkpoint:,}",
            f"{row.log_position:,}",
            f"{row.lag:,}",
            f"[{style}]{state}[/]",
            _when(row.next_due),
        )
    show.console.print(table)
    if any(row.lag or row.needs_replay for row in rows):
        show.console.print("Run [bold]touchpoint projections catch-up[/] to apply the rest.")


@group.command("catch-up")
def catch_up_command(
    name: Annotated[
        str | None, typer.Option("--name", help="Only this projection (default: all)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Apply what each projection has not applied yet, from its checkpoint. Safe to repeat.

    Needed after a bulk import that stopped before its catch-up (a crash, Ctrl-C); `touchpoint
    import`, `touchpoint tick` and the server catch up by themselves."""
    with opened(data_dir) as tp, catch_up_progress() as progress:
        results = tp.projections.catch_up(progress, name=name)
    print_catch_up(results)


def tick_command(
    now: Now = None,
    force: Annotated[
        bool, typer.Option("--force", help="Let the clock run past the wall clock (for tests)")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Catch every projection up, then let time pass to --now. For cron; safe to repeat.

    This is one run of the scheduler the server runs continually: inactivity moves customers to
    at_risk and churned, and whatever else falls due is applied."""
    from touchpoint.services import scheduler

    with opened(data_dir) as tp, catch_up_progress() as progress:
        run = scheduler.run_once(tp, now, progress, force=force)
    print_catch_up(run.caught_up)
    print_ticks(run.ticked)
    print_automation(run.automation)
    print_loyalty(run.loyalty)


def print_automation(report: RunReport | None) -> None:
    """The playbooks' part of a scheduler run: runs started, steps by outcome."""
    if report is None:
        return
    steps = ", ".join(f"{n:,} {escape(k)}" for k, n in sorted(report.executed.items()))
    show.console.print(f"playbooks: {report.started:,} runs started; steps: {steps or 'none due'}.")


def print_loyalty(done: LoyaltyRun | None) -> None:
    """The loyalty job's part: the referral rewards and tier changes it wrote (or found written
    by a concurrent run)."""
    from touchpoint.cli.loyalty import print_rewards, print_tier_changes

    if done is None:
        return
    if not done.rewards and not done.tiers:
        show.console.print("loyalty: no referral rewards or tier changes due.")
        return
    if done.rewards:
        print_rewards(done.rewards)
    if done.tiers:
        print_tier_changes(done.tiers)


@contextmanager
def catch_up_progress() -> Iterator[Callable[[str], Tracker]]:
    """A progress bar per projection that catches up (counted in customers)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from touchpoint.projections.contract import Progress as Tracker

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=show.errors, transient=True) as bar:

        def tracker(name: str) -> Tracker:
            task = bar.add_task(f"catching up {name}", total=None)
            return Tracker(
                on_total=lambda n: bar.update(task, total=n),
                on_advance=lambda n: bar.advance(task, n),
            )

        yield tracker


def print_catch_up(results: list[CatchUpResult]) -> None:
    for result in results:
        if result.mode == "none":
            show.console.print(f"{escape(result.name)}: already current.")
            continue
        rate = result.events / result.seconds if result.seconds > 0 else 0.0
        how = "rebuilt from the whole log" if result.mode == "replay" else "caught up"
        show.console.print(
            f"{escape(result.name)}: {how} — {result.events:,} events of "
            f"{result.customers:,} customers in {result.seconds:.1f} s ({rate:,.0f} events/s)."
        )


def print_ticks(results: list[TickResult]) -> None:
    for result in results:
        if result.skipped:
            show.console.print(
                f"{escape(result.name)}: the clock is already at {_when(result.clock_before)}; "
                "nothing to do."
            )
            continue
        moved = ", ".join(f"{n:,} → {escape(k)}" for k, n in sorted(result.moved.items()))
        show.console.print(
            f"{escape(result.name)}: clock at {result.now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC; "
            f"{result.evaluated:,} due; {moved or 'nobody moved'}."
        )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
