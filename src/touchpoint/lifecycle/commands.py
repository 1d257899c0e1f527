"""`touchpoint lifecycle …`: stage counts, replay with a (new) model, tick the clock, list models."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from touchpoint import console as show
from touchpoint.errors import ValidationError
from touchpoint.lifecycle.model import BUILTIN_MODELS, load_model
from touchpoint.lifecycle.tick import tick
from touchpoint.runtime import open_touchpoint
from touchpoint.services import lifecycle as lifecycle_service
from touchpoint.settings import load_settings
from touchpoint.store.engine import read_connection

if TYPE_CHECKING:
    from touchpoint.lifecycle.replay import ReplayReport

console = Console()
lifecycle_app = typer.Typer(
    help="Lifecycle stages: counts per stage, replay history with a stage model, let time pass.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="TOUCHPOINT_DATA_DIR", help="Data directory.", show_default=False
    ),
]


def parse_when(value: str | None, option: str) -> datetime | None:
    """An ISO date or datetime; without a zone it is UTC, and a bare date means its midnight."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option}: {value!r} is not an ISO date or datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lifecycle_app.command("summary")
def summary_command(
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Count as customers stood at this ISO date/time (UTC if no zone)"
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Customers per lifecycle stage, now or at a past date."""
    when = parse_when(at, "--at")
    tp = open_touchpoint(load_settings(data_dir=data_dir))
    with read_connection(tp.engine) as conn:
        result = lifecycle_service.summary(conn, when)
    title = f"Customers by stage ({result['model']}) " + (
        f"at {when:%Y-%m-%d %H:%M}" if when else "now"
    )
    console.print(
        show.stage_counts(title, [(s["stage"], s["customers"]) for s in result["stages"]])
    )


@lifecycle_app.command("replay")
def replay_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help=f"Stage model file, or a shipped one ({', '.join(BUILTIN_MODELS)}). "
            "Default: the model in force.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Rebuild every stage and transition from the interaction log, and report what changed."""
    tp = open_touchpoint(load_settings(data_dir=data_dir))
    if model is None:
        with read_connection(tp.engine) as conn:
            stage_model = lifecycle_service.model_in_force(conn)
    else:
        stage_model = load_model(model)  # a bad file stops here: the model in force stays
    from touchpoint.lifecycle.replay import replay  # DuckDB and Arrow: only when replaying

    with Progress(
        TextColumn("replaying customers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=None)
        report = replay(
            tp.engine,
            stage_model,
            on_total=lambda n: progress.update(task, total=n),
            on_customers=lambda n: progress.advance(task, n),
        )
    print_replay(report)


def print_replay(report: ReplayReport) -> None:
    previous = report.previous_model or "(none)"
    console.print(
        f"Replayed {report.events:,} interactions of {report.customers:,} customers with "
        f"[bold]{report.model}[/] (was {previous}): {report.customers_moved:,} customers changed "
        f"stage; transitions {report.transitions_before:,} → {report.transitions_after:,}."
    )
    table = Table(title="Customers by stage: before and after")
    for column in ("stage", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    stages = list(dict.fromkeys([*report.stage_order, *report.stages_after, *report.stages_before]))
    for stage in stages:
        before, after = report.stages_before.get(stage, 0), report.stages_after.get(stage, 0)
        table.add_row(stage, f"{before:,}", f"{after:,}", f"{after - before:+,}")
    console.print(table)


@lifecycle_app.command("tick")
def tick_command(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Let time pass up to this ISO date/time (default: now)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Apply time-based stages (inactivity → at_risk → churned) that fell due. Safe to repeat."""
    when = parse_when(now, "--now") or datetime.now(UTC)
    tp = open_touchpoint(load_settings(data_dir=data_dir))
    report = tick(tp.engine, when)
    if report.clock_before is not None and when <= report.clock_before:
        console.print(
            f"The lifecycle clock is already at {report.clock_before:%Y-%m-%d %H:%M}; nothing to do."
        )
        return
    moved = (
        ", ".join(f"{n:,} → {stage}" for stage, n in sorted(report.moved.items())) or "nobody moved"
    )
    console.print(
        f"Clock at {when:%Y-%m-%d %H:%M} UTC: {report.evaluated:,} customers due; {moved}."
    )


@lifecycle_app.command("models")
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
    console.print(table)
