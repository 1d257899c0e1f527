"""`touchpoint score list|show|apply`: the rule-based score models in force, one model's rules and
top customers, and applying a new score file (validated, then all history rescored)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import At, DataDir, cli_actor, opened

if TYPE_CHECKING:
    from touchpoint.services.scores import CustomerScore, ModelSummary

group = typer.Typer(
    help="Rule-based scores (lead, engagement…): the models in force and their score files.",
    no_args_is_help=True,
)

AWARDS_SHOWN = 10


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="score")


@group.command("list")
def score_list(at: At = None, data_dir: DataDir = None) -> None:
    """The score models in force: half-life, thresholds, customers scored, the mean score and how
    many are at or above each threshold now (or --at)."""
    from touchpoint.services import scores as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        models = service.list_models(conn, tp, at=at)
    table = Table(title=f"Score models at {show.when(models[0].at if models else None)}")
    for column in ("model", "half-life", "rules", "customers", "mean", "at or above"):
        table.add_column(column)
    for m in models:
        table.add_row(
            show.plain(m.name),
            f"{m.half_life_days:g} days" if m.half_life_days else "none",
            str(len(m.rules)),
            f"{m.customers:,}",
            f"{m.mean:.1f}",
            ", ".join(f"{t}: {n:,}" for t, n in m.above.items()) or "-",
        )
    show.console.print(table)


@group.command("show")
def score_show(
    model: Annotated[str, typer.Argument(help="A model in force, e.g. lead")],
    at: At = None,
    data_dir: DataDir = None,
) -> None:
    """One model: its rules (what they match, their points and caps) and its top customers."""
    from touchpoint.services import scores as service
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        detail = service.model_detail(conn, tp, model, at=at)
    _model_panel(detail)
    top = Table(title=f"Top customers at {show.when(detail.at)}")
    top.add_column("customer")
    top.add_column("score", justify="right")
    for cid, score in detail.top:
        top.add_row(show.plain(cid), f"{score:.1f}")
    show.console.print(top)


def _model_panel(model: ModelSummary) -> None:
    decay = f"half-life {model.half_life_days:g} days" if model.half_life_days else "no decay"
    thresholds = ", ".join(f"{t:g}" for t in model.thresholds) or "none"
    show.console.print(
        f"[bold]{show.plain(model.name)}[/] — {show.plain(model.description or '')}\n"
        f"{decay}; thresholds {thresholds}; {model.customers:,} customers, mean {model.mean:.1f}"
    )
    rules = Table(title="Rules")
    for column in ("rule", "points", "when", "caps"):
        rules.add_column(column)
    for rule in model.rules:
        rules.add_row(
            show.plain(rule.name), f"{rule.points:+g}", show.plain(rule.when), show.plain(rule.caps)
        )
    show.console.print(rules)


@group.command("apply")
def score_apply(
    file: Annotated[Path, typer.Argument(help="A score file (TOML), e.g. scores/lead.toml")],
    data_dir: DataDir = None,
) -> None:
    """Check a score file, then rescore every customer's whole history with it; it is then the
    file in force. A file with a mistake gets one error naming the rule, and nothing changes."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    from touchpoint.projections.contract import Progress
    from touchpoint.services import scores as service

    text = service.check_file(file)
    columns = (TextColumn("rescoring customers"), BarColumn(), MofNCompleteColumn())
    with opened(data_dir) as tp, Bar(*columns, transient=True, console=show.errors) as bar:
        task = bar.add_task("rescore", total=None)
        progress = Progress(
            on_total=lambda n: bar.update(task, total=n),
            on_advance=lambda n: bar.advance(task, n),
        )
        result = service.apply_text(tp, text, where=str(file), actor=cli_actor(), progress=progress)
    show.console.print(
        f"Applied {show.plain(file)}: models {', '.join(result.models)}; "
        f"{result.customers:,} customers rescored from {result.events:,} interactions."
    )


def print_scores(scores: Sequence[CustomerScore]) -> None:
    """A customer's scores with their breakdown (for `touchpoint customer show`)."""
    for score in scores:
        table = Table(
            title=f"Score {show.plain(score.model)}: {score.score:.1f} at {show.when(score.at)}"
        )
        for column in ("rule", "awards", "points now"):
            table.add_column(column)
        for total in score.by_rule:
            table.add_row(show.plain(total.rule), str(total.awards), f"{total.points:+.1f}")
        for award in score.awards[:AWARDS_SHOWN]:
            cause = award.interaction_id or "no activity"
            table.add_row(
                f"  {show.when(award.at)} {show.plain(award.rule)} ({show.plain(cause)})",
                f"{award.points:+g}",
                f"{award.now:+.1f}",
                style="dim",
            )
        if len(score.awards) > AWARDS_SHOWN:
            table.add_row(
                f"  … {len(score.awards) - AWARDS_SHOWN} older awards", "", "", style="dim"
            )
        show.console.print(table)
