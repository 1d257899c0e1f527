"""`touchpoint model train|list|show|score`: predictive conversion and churn scores from the
terminal — training prints the model beside its baselines on the held-out cut-off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import At, DataDir, cli_actor, opened

if TYPE_CHECKING:
    from touchpoint.analytics.model_metrics import Evaluation
    from touchpoint.services.models import ModelDetail

group = typer.Typer(
    help="Predictive scores: train conversion and churn models, list them, score customers.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="conversion or churn", metavar="conversion|churn")]
Horizon = Annotated[
    str,
    typer.Option(help="How far ahead the score looks: days (90d) or weeks (13w)"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="model")


@contextmanager
def _progress(title: str) -> Iterator[object]:
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=show.errors,
        transient=True,
    )
    with bar:
        task = bar.add_task(title)
        yield lambda step: bar.update(task, description=f"{title}: {step}")


@group.command("train")
def train(
    name: Name,
    at: At = None,
    horizon: Horizon = "90d",
    data_dir: DataDir = None,
) -> None:
    """Train a model on the log: features as of cut-offs one horizon apart, labels from the
    horizon after each; tested on the latest cut-off whose horizon is over (--at minus the
    horizon) beside two baselines (recency alone; logistic regression on RFM). Saves the next
    version and scores every customer it is meant for."""
    from touchpoint.services.models import train as train_model

    with opened(data_dir) as tp, _progress(f"training {name}") as step:
        detail = train_model(  # type: ignore[arg-type]
            tp, name, at=at, horizon=horizon, progress=step, actor=cli_actor()
        )
    _print(detail)


@group.command("score")
def score(name: Name, at: At = None, data_dir: DataDir = None) -> None:
    """Score every customer the model is meant for, as of --at (default now), with its latest
    version; replaces the previous scores."""
    from touchpoint.services.models import score as score_model

    with opened(data_dir) as tp, _progress(f"scoring {name}") as step:
        view = score_model(tp, name, at=at, progress=step)  # type: ignore[arg-type]
    mean = "-" if view.mean_probability is None else f"{view.mean_probability:.1%}"
    show.console.print(
        f"Scored {view.scored:,} customers with {view.name} v{view.version} as of "
        f"{show.when(view.scored_at)} (mean probability {mean})."
    )


@group.command("list")
def list_models(data_dir: DataDir = None) -> None:
    """Every trained version, with its test ROC AUC beside the better baseline's."""
    from touchpoint.services.models import list_models as find

    with opened(data_dir) as tp:
        views = find(tp)
    table = Table(title=f"Models ({len(views)} versions)")
    for column in (
        "model",
        "version",
        "trained",
        "as of",
        "horizon",
        "ROC AUC",
        "baseline",
        "scored",
    ):
        table.add_column(column)
    for v in views:
        table.add_row(
            v.name,
            str(v.version),
            show.when(v.trained_at),
            show.when(v.at),
            f"{v.horizon_days}d",
            _num(v.roc_auc),
            _num(v.baseline_roc_auc),
            f"{v.scored:,}" if v.scored else "-",
        )
    show.console.print(table)


@group.command("show")
def show_model(
    name: Name,
    version: Annotated[
        int | None, typer.Option(min=1, help="A version (default the latest)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """One version: its metrics beside the baselines, calibration, lift by decile, the feature
    groups' importance and the highest-scored customers with their reasons."""
    from touchpoint.services.models import show as get

    with opened(data_dir) as tp:
        _print(get(tp, name, version))


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(detail: ModelDetail) -> None:
    v = detail.view
    cuts = ", ".join(f"{c:%Y-%m-%d}" for c in v.cutoffs[:-1])
    show.console.print(
        f"[bold]{v.name} v{v.version}[/bold] — horizon {v.horizon_days} days; scores "
        f"{detail.scored}; yes = {detail.positive}.\n"
        f"Trained on cut-offs {cuts} ({detail.rows['training']:,} rows, "
        f"{detail.rows['training_positives']:,} yes); tested on {v.cutoffs[-1]:%Y-%m-%d} "
        f"({detail.rows['test']:,} rows, {detail.rows['test_positives']:,} yes)."
    )
    show.console.print(_metrics_table(detail.evaluations))
    show.console.print(_lift_table(detail.evaluations))
    show.console.print(_calibration_table(detail.evaluations[0]))
    importance = Table(title="Feature groups (drop in test ROC AUC when shuffled)")
    importance.add_column("group")
    importance.add_column("importance", justify="right")
    for group_name, drop in sorted(detail.importance.items(), key=lambda kv: -kv[1]):
        importance.add_row(group_name, f"{drop:+.4f}")
    show.console.print(importance)
    if detail.top:
        top = Table(title=f"Highest {v.name} probability ({v.scored:,} customers scored)")
        for column in ("customer", "probability", "top reasons (effect on the probability)"):
            top.add_column(column)
        for c in detail.top:
            why = ", ".join(f"{r['group']} {r['effect']:+.1%}" for r in c.reasons) or "-"
            top.add_row(show.plain(c.customer_id), f"{c.probability:.1%}", why)
        show.console.print(top)


def _metrics_table(evaluations: list[Evaluation]) -> Table:
    table = Table(title="On the test cut-off: the model beside the baselines")
    for column in ("scorer", "ROC AUC", "PR AUC", "Brier", "top-decile lift", "base rate"):
        table.add_column(column, justify="left" if column == "scorer" else "right")
    for e in evaluations:
        lift = e.lift[0]["lift"] if e.lift else None
        table.add_row(
            e.name,
            _num(e.roc_auc),
            _num(e.pr_auc),
            _num(e.brier, 4),
            _num(lift, 2),
            f"{e.base_rate:.1%}",
        )
    return table


def _lift_table(evaluations: list[Evaluation]) -> Table:
    table = Table(title="Lift by decile (1 = highest scores): lift, share of all yes captured")
    table.add_column("decile", justify="right")
    for e in evaluations:
        table.add_column(e.name.replace("baseline: ", ""), justify="right")
    for i, row in enumerate(evaluations[0].lift):
        cells = [
            f"{e.lift[i]['lift']:.2f} ({e.lift[i]['captured']:.0%})" if i < len(e.lift) else "-"
            for e in evaluations
        ]
        table.add_row(str(row["decile"]), *cells)
    return table


def _calibration_table(model: Evaluation) -> Table:
    table = Table(title="Calibration of the model (deciles of its probability)")
    for column in ("bin", "rows", "predicted", "observed"):
        table.add_column(column, justify="right")
    for row in model.calibration:
        table.add_row(
            str(row["bin"]), str(row["rows"]), f"{row['predicted']:.1%}", f"{row['observed']:.1%}"
        )
    return table
