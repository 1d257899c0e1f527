"""`touchpoint cc staffing`, `cc forecast`, `cc plan`: workforce planning from the terminal —
agents needed for a volume and a target (Erlang C, Erlang A with patience), contacts per
interval forecast from the log's history with its backtest, and next week's staffing plan with a
shift cover. Commands of the `cc` group (cli.contact_center)."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.contact_center import group
from touchpoint.cli.options import DataDir, opened
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.staffing import Staffing
    from touchpoint.services.workforce import Forecast, Plan

FORMATS = ("table", "json")


def register(_app: typer.Typer) -> None:
    """The commands join the `cc` group, which cli.contact_center registers."""


def _check_format(output: str) -> None:
    if output not in FORMATS:
        raise ValidationError(f"--format: one of {', '.join(FORMATS)}; got {output!r}")


@group.command("staffing")
def staffing(
    volume: Annotated[float, typer.Option(help="Contacts offered per interval")],
    aht: Annotated[float, typer.Option(help="Average handle time, seconds")],
    interval: Annotated[str, typer.Option(help="The interval's length: 15m, 30m, 1h")] = "30m",
    target: Annotated[
        str, typer.Option(help="Service-level target PERCENT/SECONDS: 80/20 = 80% within 20 s")
    ] = "80/20",
    shrinkage: Annotated[
        float, typer.Option(help="Share of paid time off the phones (breaks, training): 0.3")
    ] = 0.0,
    max_occupancy: Annotated[
        float, typer.Option(help="Most of their time agents may spend on contacts: 0.85")
    ] = 1.0,
    patience: Annotated[
        float | None,
        typer.Option(help="Callers' mean patience before hanging up, seconds: Erlang A"),
    ] = None,
    agents: Annotated[
        int | None, typer.Option(help="Ask the reverse: what this many agents achieve")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Agents needed for a volume and a service-level target (Erlang C; Erlang A with
    --patience), raw and with shrinkage, and the service level, probability of waiting, ASA and
    occupancy they achieve. With --agents, what that many agents achieve. Fewer agents than the
    traffic (in Erlangs) without --patience: "unstable: queue grows without bound"."""
    from touchpoint.services.staffing import answer, question

    _check_format(output)
    result = answer(
        question(
            volume=volume,
            interval=interval,
            aht=aht,
            target=target,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            patience=patience,
            agents=agents,
        )
    )
    if output == "json":
        body = dataclasses.asdict(result)
        if patience is None:
            body.pop("abandon_rate")
        show.console.print_json(json.dumps(body))
        return
    _staffing_table(result)


def _staffing_table(result: Staffing) -> None:
    title = f"Staffing ({result.model}, {result.traffic_erlangs:.2f} Erlangs)"
    table = Table(title=title, show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    if not result.stable:
        table.add_row("agents", str(result.agents))
        table.add_row("result", result.note or "")
        show.console.print(table)
        return
    fractional = (
        f" ({result.agents_fractional:.2f})" if result.agents_fractional is not None else ""
    )
    table.add_row("agents", f"{result.agents}{fractional}")
    table.add_row(
        "with shrinkage",
        f"{result.agents_with_shrinkage} ({result.agents_with_shrinkage_fractional:.2f})",
    )
    target = f"{result.target:.0%} within {result.threshold_s:g} s"
    table.add_row(f"service level ({target})", f"{result.service_level:.2%}")
    table.add_row("probability of waiting", f"{result.wait_probability:.2%}")
    table.add_row("average speed of answer", f"{result.asa_s:.1f} s")
    table.add_row("occupancy", f"{result.occupancy:.1%}")
    if result.abandon_rate is not None:
        table.add_row("abandoned", f"{result.abandon_rate:.2%}")
    if result.meets_target is False:
        table.add_row("meets the target", "no")
    show.console.print(table)


Interval = Annotated[str, typer.Option(help="Interval length: 15m, 30m or 60m")]
HistoryWeeks = Annotated[int, typer.Option(help="Weeks of history the forecast is fitted on")]
HoldoutWeeks = Annotated[int, typer.Option(help="Last weeks held out for the backtest")]
Queue = Annotated[str | None, typer.Option(help="One queue (default: every queue)")]


def _day(text: str) -> date:
    """--start as YYYY-MM-DD; a mistake is one line naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--start: a day as YYYY-MM-DD; got {text!r}") from None


Start = Annotated[
    date | None,
    typer.Option(parser=_day, metavar="YYYY-MM-DD", help="First day", show_default=False),
]


@group.command("forecast")
def forecast(
    days: Annotated[int, typer.Option(help="Days ahead to forecast (1-62)")] = 7,
    interval: Interval = "30m",
    start: Start = None,
    history_weeks: HistoryWeeks = 8,
    holdout_weeks: HoldoutWeeks = 2,
    queue: Queue = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Contacts per queue and interval for the next days, from the log's history (weekday ×
    interval profile, trend, the queues' holidays and hours), with its backtest on the last weeks
    held out: MAPE and WAPE beside the naive "same interval last week"."""
    from touchpoint.services.workforce import forecast as run_forecast
    from touchpoint.services.workforce import forecast_document

    if output not in ("table", "json", "csv"):
        raise ValidationError(f"--format: one of table, json, csv; got {output!r}")
    with opened(data_dir) as tp:
        found = run_forecast(
            tp,
            interval=interval,
            days=days,
            start=start,
            history_weeks=history_weeks,
            holdout_weeks=holdout_weeks,
            queue=queue,
        )
    if output == "json":
        show.console.print_json(json.dumps(forecast_document(found)))
        return
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["queue", "interval_start", "expected"])
        for r in found.rows:
            writer.writerow([r["queue"], r["interval_start"].isoformat(), f"{r['expected']:.4f}"])
        return
    days_table = Table(
        title=f"Forecast contacts per day from {found.start} ({found.interval_min}-minute intervals)"
    )
    days_table.add_column("queue")
    per_day: dict[str, dict[str, float]] = {}
    for r in found.rows:
        day = r["interval_start"].date().isoformat()
        per_day.setdefault(r["queue"], {}).setdefault(day, 0.0)
        per_day[r["queue"]][day] += r["expected"]
    dates = sorted({d for v in per_day.values() for d in v})
    for d in dates:
        days_table.add_column(d[5:], justify="right")
    days_table.add_column("total", justify="right")
    for q, values in sorted(per_day.items()):
        days_table.add_row(
            show.plain(q),
            *(f"{values.get(d, 0):.1f}" for d in dates),
            f"{sum(values.values()):.1f}",
        )
    show.console.print(days_table)
    _accuracy_table(found)


def _accuracy_table(found: Forecast) -> None:
    table = Table(
        title=f"Backtest: the last {found.holdout_weeks} weeks held out, per {found.interval_min}-minute interval"
    )
    for column in ("queue", "contacts", "forecast", "MAPE", "WAPE", "naive MAPE", "naive WAPE"):
        table.add_column(column, justify="left" if column == "queue" else "right")
    for a in found.accuracy:
        table.add_row(
            show.plain(a.queue),
            str(a.actual),
            f"{a.forecast:.1f}",
            _pct(a.mape),
            _pct(a.wape),
            _pct(a.naive_mape),
            _pct(a.naive_wape),
        )
    show.console.print(table)
    show.console.print(
        "naive = the same interval last week (the last week before the weeks held out); MAPE over "
        "the intervals that had contacts, WAPE = sum of absolute errors / contacts"
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@group.command("plan")
def plan(
    start: Start = None,
    interval: Interval = "30m",
    shrinkage: Annotated[float, typer.Option(help="Share of paid time off the phones")] = 0.0,
    max_occupancy: Annotated[float, typer.Option(help="Occupancy cap, e.g. 0.85")] = 1.0,
    patience: Annotated[
        float | None, typer.Option(help="Callers' mean patience, seconds: Erlang A")
    ] = None,
    shift_hours: Annotated[int, typer.Option(help="Length of a shift, hours")] = 8,
    history_weeks: HistoryWeeks = 8,
    holdout_weeks: HoldoutWeeks = 2,
    queue: Queue = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write the plan per interval to FILE.csv")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Heatmap of agents: FILE.png or FILE.html")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Next week's staffing plan (from the coming Monday): agents per queue and interval for
    each queue's target on the forecast and the log's handle time (Erlang C; Erlang A with
    --patience), with shrinkage, and a shift cover (fewest agent-hours of fixed shifts)."""
    from touchpoint.contact_center.plan import write_csv, write_heatmap
    from touchpoint.services.workforce import plan as run_plan
    from touchpoint.services.workforce import plan_document

    _check_format(output)
    for path, suffixes in ((csv_path, (".csv",)), (plot, (".png", ".html"))):
        if path is None:
            continue
        if path.suffix.lower() not in suffixes:
            raise ValidationError(f"{path.name!r} must end in {' or '.join(suffixes)}")
        if not path.resolve().parent.is_dir():
            raise ValidationError(f"no folder {str(path.resolve().parent)!r} to write into")
    with opened(data_dir) as tp:
        found = run_plan(
            tp,
            interval=interval,
            start=start,
            history_weeks=history_weeks,
            holdout_weeks=holdout_weeks,
            queue=queue,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            patience=patience,
            shift_hours=shift_hours,
        )
    if csv_path is not None:
        write_csv(found.needs, csv_path)
    if plot is not None:
        write_heatmap(found.needs, plot, interval_min=found.forecast.interval_min)
    if output == "json":
        show.console.print_json(json.dumps(plan_document(found)))
        return
    _plan_tables(found)
    for path in (csv_path, plot):
        if path is not None:
            show.console.print(f"wrote {show.plain(path)}")


def _plan_tables(found: Plan) -> None:
    table = Table(title=f"Staffing plan for the week from {found.forecast.start}")
    for column in (
        "queue",
        "contacts",
        "AHT",
        "peak agents",
        "agent-hours needed",
        "shift cover",
        "status",
    ):
        table.add_column(column, justify="left" if column in ("queue", "status") else "right")
    for cover in found.covers:
        mine = [n for n in found.needs if n.queue == cover.queue]
        table.add_row(
            show.plain(cover.queue),
            f"{sum(n.expected for n in mine):.0f}",
            f"{found.forecast.aht_s[cover.queue]:.0f} s",
            str(max((n.scheduled for n in mine), default=0)),
            f"{cover.needed_hours:.1f}",
            f"{cover.agent_hours:.0f} h",
            cover.status.lower(),
        )
    show.console.print(table)
    shifts = Table(title="Shifts (agents per day and start)")
    for column in ("queue", "day", "shift", "agents"):
        shifts.add_column(column)
    for cover in found.covers:
        for s in cover.shifts:
            shifts.add_row(
                show.plain(cover.queue), f"{s.day:%a %Y-%m-%d}", f"{s.start}-{s.end}", str(s.agents)
            )
    show.console.print(shifts)
    _accuracy_table(found.forecast)
