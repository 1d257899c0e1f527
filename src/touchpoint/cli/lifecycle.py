"""`touchpoint lifecycle …`: stage counts, replay with a (new) model, tick the clock, list models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import At, Clock, DataDir, opened
from touchpoint.cli.projections import tick_command
from touchpoint.errors import ValidationError
from touchpoint.lifecycle.model import BUILTIN_MODELS, load_model

if TYPE_CHECKING:
    from touchpoint.lifecycle.replay import ReplayReport

group = typer.Typer(
    help="Lifecycle stages: counts per stage, replay history with a stage model, let time pass.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="lifecycle")


@group.command("summary")
def summary_command(at: At = None, data_dir: DataDir = None) -> None:
    """Customers per lifecycle stage, now or as they stood at a past moment."""
    from touchpoint.services import lifecycle as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        result = service.summary(conn, at)
    moment = f"at {at:%Y-%m-%d %H:%M:%S} UTC" if at else "now"
    show.console.print(show.stage_counts(f"Customers by stage ({result.model}) {moment}", result))


@group.command("replay")
def replay_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help=f"Stage model file, or a shipped one ({', '.join(BUILTIN_MODELS)}). "
            "Default: the model in force.",
        ),
    ] = None,
    clock: Clock = None,
    force: Annotated[
        bool, typer.Option("--force", help="Let --clock be past the wall clock (for tests)")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Rebuild every stage and transition from the interaction log, and report what changed.
    --clock sets how far time has passed (--clock now undoes a tick into the future)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from touchpoint.domain.moments import future_clock_error
    from touchpoint.services import lifecycle as service
    from touchpoint.store.engine import read_connection

    if clock is not None and not force:
        refused = future_clock_error(clock, datetime.now(UTC), "--clock")
        if refused:
            raise ValidationError(refused)
    with opened(data_dir) as tp:
        if model is None:
            with read_connection(tp.engine) as conn:
                stage_model = service.model_in_force(conn)
        else:
            stage_model = load_model(model)  # a bad file stops here: the model in force stays
        from touchpoint.projections.contract import Progress as Tracker

        columns = (
            TextColumn("replaying customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=show.errors, transient=True) as progress:
            task = progress.add_task("replay", total=None)
            tracker = Tracker(
                on_total=lambda n: progress.update(task, total=n),
                on_advance=lambda n: progress.advance(task, n),
            )
            report = tp.projections.replay("lifecycle", tracker, model=stage_model, clock=clock)
    print_replay(report)


def print_replay(report: ReplayReport) -> None:
    previous = report.previous_model or "(none)"
    show.console.print(
        f"Replayed {report.events:,} interactions of {report.customers:,} customers with "
        f"[bold]{show.plain(report.model)}[/] (was {show.plain(previous)}): "
        f"{report.customers_moved:,} customers changed stage; "
        f"transitions {report.transitions_before:,} → {report.transitions_after:,}."
    )
    if report.clock_after != report.clock_before:
        show.console.print(
            f"Lifecycle clock {show.plain(report.clock_before or '(not set)')} → "
            f"{show.plain(report.clock_after)}."
        )
    table = Table(title="Customers by stage: before and after")
    for column in ("stage", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    stages = list(dict.fromkeys([*report.stage_order, *report.stages_after, *report.stages_before]))
    for stage in stages:
        before, after = report.stages_before.get(stage, 0), report.stages_after.get(stage, 0)
        table.add_row(show.plain(stage), f"{before:,}", f"{after:,}", f"{after - before:+,}")
    show.console.print(table)


group.command(
    "tick",
    help="The same as `touchpoint tick`: catch up, then let time pass to --now (inactivity → "
    "at_risk → churned). Safe to repeat.",
)(tick_command)


@group.command("models")
def models_command() -> None:
    """List the shipped stage models and their stages."""
    table = Table(title="Shipped stage models (use with --model NAME, or copy one to edit)")
    for column in ("name", "stages", "overlays", "forward only"):
        table.add_column(column)
    for name in BUILTIN_MODELS:
        model = load_model(name)
        table.add_row(
            name,
            " → ".join(model.stages),
            ", ".join(model.overlay_names) or "-",
            str(model.forward_only),
        )
    show.console.print(table)
